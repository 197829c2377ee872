"""Cold start (no model yet) and the chunked similarity build."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations import modelstore as storage
from recommendations.conf import app_settings
from recommendations.engine import backends
from recommendations.engine.itemknn import ItemKNN
from recommendations.engine.similarity import assemble_triples, chunk_bounds, csr_from, knn_block, prepare
from recommendations.schedules import beat_schedule
from recommendations.serving import bundle as bundles
from recommendations.serving import recommend
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training


def test_cold_start_without_models_returns_live_trending_then_catalogue(shop):
    assert [r.reason_code for r in recommend(None, "for_you", limit=3)] == ["catalogue"] * 3
    visitor = uuid.uuid4()
    import_events([shop.event("view", shop.b[6], uuid.uuid4()) for _ in range(3)])
    import_events([shop.event("view", shop.a[5], visitor)])
    recs = recommend(Subject(None, visitor), "for_you", limit=5)
    # the just-viewed product is left to the recently-viewed slot (for_you's exclude_recent)
    assert str(shop.a[5].pk) not in [r.product_id for r in recs]
    assert str(shop.b[6].pk) in [r.product_id for r in recs]
    assert all(r.reason for r in recs)
    for slot in ("similar", "bought_together", "cart", "trending", "search"):
        assert recommend(Subject(None, visitor), slot, {"product": str(shop.a[0].pk)})
    assert [r.product_id for r in recommend(Subject(None, visitor), "recently_viewed")] == [str(shop.a[5].pk)]


def _random_matrix(seed: int = 3) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((300, 120)) < 0.05) * rng.integers(1, 5, size=(300, 120))
    dense[:, 115:] = 0  # trailing items nobody touched
    return sp.csr_matrix(dense.astype(np.float32))


def test_chunked_similarity_equals_a_single_chunk_and_the_engine():
    matrix = _random_matrix()
    for kind, shrink in (("cosine", 0.0), ("cosine", 2.0), ("asymmetric", 0.0), ("bm25", 0.0)):
        weighted, left, right = prepare(matrix, kind, shrink=shrink)
        single = assemble_triples([knn_block(weighted, left, right, 0, 120, 10, shrink)], 120)
        parts = [knn_block(weighted, left, right, a, b, 10, shrink) for a, b in chunk_bounds(120, 17)]
        chunked = assemble_triples(parts[::-1], 120)  # any completion order
        np.testing.assert_array_equal(single.indptr, chunked.indptr)
        np.testing.assert_array_equal(single.indices, chunked.indices)
        np.testing.assert_allclose(single.data, chunked.data, rtol=1e-6)
    engine = ItemKNN(k=10, similarity="cosine").fit(matrix[:, :115]).similarity
    weighted, left, right = prepare(matrix[:, :115], "cosine")
    mine = assemble_triples([knn_block(weighted, left, right, 0, 115, 10)], 115)
    np.testing.assert_array_equal(engine.indices, mine.indices)
    np.testing.assert_allclose(engine.data, mine.data, rtol=1e-6)


def test_beat_schedule_has_the_rebuild(settings):
    settings.RECOMMENDATIONS_REBUILD_SCHEDULE = 600.0
    entry = beat_schedule()["recommendations.rebuild_models"]
    assert entry["task"] == "recommendations.rebuild_models"
    assert entry["schedule"] == 600.0


@pytest.mark.parametrize("similarity", ["cosine", "bm25"])
def test_rebuild_gives_the_same_models_on_either_backend(shop, settings, monkeypatch, similarity):
    """numpy builds the similarity in chunks, implicit in one task; same neighbours, same slots."""
    visitors = shop.history()
    settings.RECOMMENDATIONS_ITEMKNN_SIMILARITY = similarity
    monkeypatch.setattr(training, "DEFAULT_CHUNK_ITEMS", 5)
    calls = []
    real = backends.knn_triples
    monkeypatch.setattr(backends, "knn_triples", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    similarities = {}
    for backend in ("numpy", "implicit"):
        settings.RECOMMENDATIONS_ENGINE_BACKEND = backend
        plan = training.start_rebuild()
        assert len(plan.chunks) == (4 if backend == "numpy" else 1)
        for start, stop in plan.chunks:
            training.build_chunk(plan.version_id, start, stop)
        assert training.finish_rebuild(plan.version_id, len(plan.chunks))
        assert len(calls) == (backend == "implicit")
        parts = storage.load_parts(plan.version_id, ["itemknn", "als"])
        similarities[backend] = csr_from(parts["itemknn"])
        assert parts["als"]["item_factors"].shape == (16, app_settings.ALS_FACTORS)
        bundles.clear()
        for visitor, own in ((visitors[0], shop.a), (visitors[-1], shop.b)):
            recs = recommend(Subject(None, visitor), "for_you", limit=4)
            assert {r.product_id for r in recs} <= shop.ids(own)
    numpy_knn, implicit_knn = similarities["numpy"], similarities["implicit"]
    np.testing.assert_array_equal(numpy_knn.indptr, implicit_knn.indptr)
    np.testing.assert_array_equal(numpy_knn.indices, implicit_knn.indices)
    np.testing.assert_allclose(numpy_knn.data, implicit_knn.data, rtol=1e-5)
