"""The one place validated rows are written: the Redis stream when configured, else the database.

With Redis: one atomic round trip de-duplicates the rows, appends them to the stream and updates
the live state; a Celery task drains the stream into the database. When Redis cannot be reached
the rows go straight to the database (logged) and the caller still succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from recommendations import signals
from recommendations.ingest.database import insert_rows
from recommendations.live import get_live_store
from recommendations.live.base import RECENT_KINDS
from recommendations.schema import EventRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteResult:
    accepted: int
    duplicates: int
    path: str  # "stream", "database" or "database-fallback"


def changed_subjects(rows: Sequence[EventRow]) -> list[str]:
    """The subjects whose live state these (new) rows change, each once, in order."""
    return list(
        dict.fromkeys(
            row.subject for row in rows if (row.product_id and row.kind in RECENT_KINDS) or row.query
        )
    )


def _announce(rows: Sequence[EventRow]) -> None:
    subjects = changed_subjects(rows)
    if not subjects:
        return
    for receiver, result in signals.live_state_updated.send_robust(sender=EventRow, subjects=subjects):
        if isinstance(result, Exception):
            logger.error("recommendations: live_state_updated receiver %r failed", receiver, exc_info=result)


def write(rows: Sequence[EventRow]) -> WriteResult:
    """Store rows (all or nothing), fold them into the live state and announce whose state changed
    (``live_state_updated``)."""
    if not rows:
        return WriteResult(0, 0, "none")
    store = get_live_store()
    from recommendations.live.redis import RedisLiveStore

    if isinstance(store, RedisLiveStore):
        try:
            flags = store.apply_and_append(rows, append=True)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.warning("Redis unreachable (%s); writing %d events to the database", exc, len(rows))
            new_rows = insert_rows(rows)
            return WriteResult(len(new_rows), len(rows) - len(new_rows), "database-fallback")
        accepted = sum(flags)
        _announce([row for row, fresh in zip(rows, flags, strict=True) if fresh])
        return WriteResult(accepted, len(rows) - accepted, "stream")
    new_rows = insert_rows(rows)
    store.apply(new_rows)
    _announce(new_rows)
    return WriteResult(len(new_rows), len(rows) - len(new_rows), "database")
