"""The deep model reaches a slot only while its stored offline evaluation beats the blend."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from recommendations import modelstore as storage
from recommendations.engine import deep
from recommendations.models import ModelVersion
from recommendations.serving import bundle as bundles
from recommendations.serving import deep_source, recommend
from recommendations.serving.visitor import gather
from recommendations.subjects import Subject
from recommendations.training import pipeline as training


@pytest.fixture
def trained_with_deep(shop):
    from recommendations.training.deep import train_and_evaluate

    visitors = shop.history()
    training.rebuild()
    config = deep.DeepConfig(
        epochs=2, hidden_size=16, embedding_dim=16, n_negatives=None, seed=0, max_seconds=30
    )
    result = train_and_evaluate(holdout_sessions=5, k=5, config=config, store=True)
    deep_source.clear()
    yield shop, visitors, result
    deep_source.clear()


def _set_gate(passed: bool) -> None:
    version = ModelVersion.objects.get(pk=storage.active_version_id(deep.KIND))
    version.metrics = {**version.metrics, "serve": passed}
    version.save(update_fields=["metrics"])
    deep_source.clear()


def test_gate_decides_whether_the_deep_source_scores(trained_with_deep):
    _, visitors, result = trained_with_deep
    assert "serve" in result
    visitor = Subject(None, visitors[0])
    facts = gather(visitor, bundles.current())
    _set_gate(False)
    assert deep_source.deep_scores(bundles.current(), facts) is None
    _set_gate(True)
    scores = deep_source.deep_scores(bundles.current(), facts)
    assert scores is not None
    assert scores.scores.shape == (bundles.current().n_items,)
    assert scores.scores.sum() > 0


def test_a_slot_serves_deep_items_only_when_the_gate_passed(trained_with_deep, settings):
    _, visitors, _ = trained_with_deep
    settings.RECOMMENDATIONS_SLOTS = {"next_up": {"sources": {"deep": 1.0}, "fallbacks": []}}
    visitor = Subject(None, visitors[0])
    _set_gate(False)
    assert recommend(visitor, "next_up", limit=5) == []
    _set_gate(True)
    recs = recommend(visitor, "next_up", limit=5)
    assert recs
    assert {r.source for r in recs} == {"deep"}
    assert all(r.reason.startswith("Because you just viewed") for r in recs)
