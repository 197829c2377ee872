"""Celery tasks: thin wrappers around services (ids in, idempotent, no logic here)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="recommendations.drain_events", ignore_result=True)
def drain_events(max_batches: int | None = None) -> int:
    """Move events from the Redis stream into the database (no-op in embedded mode)."""
    from recommendations.ingest.stream import drain

    return drain(max_batches=max_batches).inserted
