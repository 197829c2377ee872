"""Celery tasks: thin wrappers around services (ids in, idempotent, no logic here)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="recommendations.drain_events", ignore_result=True)
def drain_events(max_batches: int | None = None) -> int:
    """Move events from the Redis stream into the database (no-op in embedded mode)."""
    from recommendations.ingest.stream import drain

    return drain(max_batches=max_batches).inserted


@shared_task(name="recommendations.rebuild_models", ignore_result=True)
def rebuild_models(chunk_items: int | None = None) -> int:
    """Build every model into a new version; the item similarity goes out as chunk tasks."""
    from recommendations.services import dispatch, training

    plan = training.start_rebuild(chunk_items=chunk_items)
    dispatch.enqueue_similarity(plan)
    return plan.version_id


@shared_task(name="recommendations.build_similarity_chunk", acks_late=True)
def build_similarity_chunk(version_id: int, start: int, stop: int) -> int:
    """Top-K neighbours of items ``start..stop`` of a building version (retry-safe)."""
    from recommendations.services import training

    return training.build_chunk(version_id, start, stop)


@shared_task(name="recommendations.finish_model_rebuild", ignore_result=True)
def finish_model_rebuild(version_id: int, expected_chunks: int | None = None) -> bool:
    """Assemble the similarity chunks and swap the version in (no-op when repeated)."""
    from recommendations.services import training

    return training.finish_rebuild(version_id, expected_chunks)


@shared_task(name="recommendations.purge_old_events", ignore_result=True)
def purge_old_events() -> int:
    """Roll up and delete raw events older than ``RETENTION_DAYS`` (aggregate counts stay)."""
    from recommendations.services import privacy

    return privacy.purge_old_events()["purged"]


@shared_task(name="recommendations.rebuild_portrait", ignore_result=True)
def rebuild_portrait(subject: str) -> bool:
    """Recompute one portrait (``u:<user id>`` or ``v:<visitor id>``); debounced by its caller."""
    from recommendations.services import portraits

    return portraits.rebuild_subject(subject)


@shared_task(name="recommendations.rebuild_portraits", ignore_result=True)
def rebuild_portraits() -> dict[str, int]:
    """The nightly bulk pass over every portrait."""
    from recommendations.services import portraits

    return portraits.rebuild_all()


# Registered here so workers that autodiscover ``tasks`` also know the optional deep-model task
# (it returns a "skipped" result when torch is not installed).
from recommendations import deep_tasks  # noqa: E402, F401
