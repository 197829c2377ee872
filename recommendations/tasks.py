"""Celery tasks: thin wrappers around the features (ids in, idempotent, no logic here), and the
wiring that sends the similarity rebuild as a chord any number of workers can share."""

from __future__ import annotations

from typing import Any

from celery import chord, group, shared_task

from recommendations import portraits
from recommendations.ingest.stream import drain
from recommendations.privacy import service as privacy
from recommendations.serving import refresh
from recommendations.taskqueue import eager, run
from recommendations.training import deep
from recommendations.training import pipeline as training
from recommendations.training.pipeline import RebuildPlan

__all__ = ["eager", "enqueue_similarity", "rebuild_via_celery", "run"]


@shared_task(name="recommendations.drain_events", ignore_result=True)
def drain_events(max_batches: int | None = None) -> int:
    """Move events from the Redis stream into the database (no-op in embedded mode), and record
    the worker's heartbeat (see ``manage.py recommendations_health``)."""
    return drain(max_batches=max_batches, heartbeat=True).inserted


@shared_task(name="recommendations.rebuild_models", ignore_result=True)
def rebuild_models(chunk_items: int | None = None) -> int:
    """Build every model into a new version; the item similarity goes out as chunk tasks."""
    plan = training.start_rebuild(chunk_items=chunk_items)
    enqueue_similarity(plan)
    return plan.version_id


@shared_task(name="recommendations.build_similarity_chunk", acks_late=True)
def build_similarity_chunk(version_id: int, start: int, stop: int) -> int:
    """Top-K neighbours of items ``start..stop`` of a building version (retry-safe)."""
    return training.build_chunk(version_id, start, stop)


@shared_task(name="recommendations.finish_model_rebuild", ignore_result=True)
def finish_model_rebuild(version_id: int, expected_chunks: int | None = None) -> bool:
    """Assemble the similarity chunks and swap the version in (no-op when repeated)."""
    return training.finish_rebuild(version_id, expected_chunks)


@shared_task(name="recommendations.purge_old_events", ignore_result=True)
def purge_old_events() -> int:
    """Roll up and delete raw events older than ``RETENTION_DAYS`` (aggregate counts stay)."""
    return privacy.purge_old_events()["purged"]


@shared_task(name="recommendations.rebuild_portrait", ignore_result=True)
def rebuild_portrait(subject: str) -> bool:
    """Recompute one portrait (``u:<user id>`` or ``v:<visitor id>``); debounced by its caller."""
    return portraits.rebuild_subject(subject)


@shared_task(name="recommendations.rebuild_portraits", ignore_result=True)
def rebuild_portraits() -> dict[str, int]:
    """The nightly bulk pass over every portrait."""
    return portraits.rebuild_all()


@shared_task(name="recommendations.refresh_slots", ignore_result=True)
def refresh_slots(subject: str) -> int:
    """Recompute one visitor's cached slots after their new events (coalesced per visitor by
    its caller, ``serving.refresh.schedule``); returns how many pages were stored."""
    return refresh.run(subject)


@shared_task(name="recommendations.train_deep_model")
def train_deep_model(holdout_sessions: int = 1000) -> dict[str, Any]:
    """Train and gate the deep model; ``{"skipped": ...}`` when torch is missing, never raises for it."""
    return deep.train_deep_model(holdout_sessions=holdout_sessions)


def enqueue_similarity(plan: RebuildPlan) -> Any:
    """The chunk tasks as a group, then the finishing task that swaps the version in."""
    body = finish_model_rebuild.si(plan.version_id, len(plan.chunks))
    if not plan.chunks:
        return run(body)
    header = group(build_similarity_chunk.si(plan.version_id, start, stop) for start, stop in plan.chunks)
    return run(chord(header, body))


def rebuild_via_celery(chunk_items: int | None = None) -> Any:
    """Enqueue a full rebuild (or run it through Celery's eager path)."""
    return run(rebuild_models.si(chunk_items))
