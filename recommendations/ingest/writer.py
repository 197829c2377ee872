"""The one place validated rows are written: the Redis stream when configured, else the database.

With Redis: one atomic round trip de-duplicates the rows, appends them to the stream and updates
the live state; a Celery task drains the stream into the database. When Redis cannot be reached
the rows go straight to the database (logged) and the caller still succeeds. While the stream holds
more than ``INGEST_MAX_BACKLOG`` events (see :mod:`.backpressure`) rows go straight to the
database too, and the live state is updated from the rows the database found new.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from recommendations import signals
from recommendations.ingest import backpressure
from recommendations.ingest.database import insert_rows
from recommendations.live import get_live_store
from recommendations.live.base import RECENT_KINDS
from recommendations.schema import EventRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteResult:
    accepted: int
    duplicates: int
    path: str  # "stream", "database", "database-fallback" (Redis down) or "database-overflow"


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


_last_overflow_warning = 0.0


def _overflow(rows: Sequence[EventRow], store: Any, overload: backpressure.Overload) -> WriteResult:
    """The stream is over its cap: store in the database, then fold the rows it found new into the
    live state (whose de-duplication also keeps a retry through the stream from counting twice)."""
    global _last_overflow_warning
    if time.monotonic() - _last_overflow_warning > 60:
        _last_overflow_warning = time.monotonic()
        logger.warning(
            "Event stream backlog %d is over RECOMMENDATIONS_INGEST_MAX_BACKLOG=%d: writing events "
            "straight to the database (is a worker draining?)",
            overload.backlog,
            overload.limit,
        )
    new_rows = insert_rows(rows)
    try:
        store.apply(new_rows)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        logger.warning("Redis unreachable (%s); the live state misses %d events", exc, len(new_rows))
    _announce(new_rows)
    return WriteResult(len(new_rows), len(rows) - len(new_rows), "database-overflow")


def write(rows: Sequence[EventRow]) -> WriteResult:
    """Store rows (all or nothing), fold them into the live state and announce whose state changed
    (``live_state_updated``)."""
    if not rows:
        return WriteResult(0, 0, "none")
    store = get_live_store()
    from recommendations.live.redis import RedisLiveStore

    if isinstance(store, RedisLiveStore):
        overload = backpressure.overloaded()
        if overload is not None:
            return _overflow(rows, store, overload)
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
