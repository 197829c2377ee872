"""A rebuild through a real Celery worker (PostgreSQL, Redis broker, the similarity chord) on data
where a sequence model clearly wins the next click: the version stores that choice with its
validation metrics, and serving in another process follows it."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from recommendations import modelstore as storage
from recommendations.models import ModelQuality, ModelVersion
from recommendations.schema import EventIn
from recommendations.serving import bundle as bundles
from recommendations.serving import recommend
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from tests.integration.processes import send_task, wait_for
from tests.training.test_selfeval import chain_events, chain_items

pytestmark = [pytest.mark.redis, pytest.mark.celery]


def test_a_worker_rebuild_stores_the_winning_blend_and_serving_follows_it(
    requires_postgres, start_worker, redis_url, settings
):
    items = chain_items()
    import_events(chain_events(items, n_sessions=1200))
    # not eager: the worker sends the similarity chord through the broker, as in production
    worker = start_worker(
        extra_env={
            "RECOMMENDATIONS_TEST_CELERY_EAGER": "0",
            "RECOMMENDATIONS_TEST_SELF_EVALUATION_BUDGET": "0",
        }
    )
    send_task(redis_url, worker.queue, "recommendations.rebuild_models")

    def ready():
        return ModelVersion.objects.filter(status__in=["ready", "failed"]).first()

    try:
        version = wait_for(ready, timeout=240, interval=0.5, what="a rebuilt version")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n{list(ModelVersion.objects.values())}\n{worker.log()[-4000:]}"
        ) from None
    assert version.status == "ready", version.error
    session = version.metrics["selection"]["contexts"]["session"]
    assert not session["default_kept"], session["reason"]
    assert {"sequential_rules", "stan"} & set(session["weights"]), session["reason"]
    assert session["metrics"]["chosen"]["next_click"] > 3 * session["metrics"]["popularity"]["next_click"]
    # the worker writes the quality rows just after the version goes live: wait for them too
    row = wait_for(
        lambda: ModelQuality.objects.filter(version=version, context="session").first(),
        timeout=60,
        interval=0.5,
        what="the session's model-quality row",
    )
    assert row.weights == session["weights"] and row.ndcg > row.popularity_ndcg

    storage.clear_cache()
    bundles.clear()
    settings.RECOMMENDATIONS_SERVING_RAISE_ERRORS = True
    visitor = uuid.uuid4()
    now = timezone.now()
    import_events(
        [
            EventIn(kind="view", product_id=str(items[n].pk), visitor_id=visitor, created_at=now)
            for n in (11, 12, 13)
        ]
    )
    recs = recommend(Subject(None, visitor), "for_you", limit=3)
    assert recs[0].product_id == str(items[14].pk)
    assert {r.source for r in recs} <= {f"auto.session.{m}" for m in session["weights"]}
