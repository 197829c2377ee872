"""Bulk import of historical events (seeding, migrating from another tool, backfills)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from recommendations.ingest.database import insert_rows
from recommendations.live import get_live_store
from recommendations.models import Event
from recommendations.schema import EventIn
from recommendations.tracking.recorder import build_rows


def _chunks(events: Iterable[EventIn], size: int) -> Iterator[list[EventIn]]:
    iterator = iter(events)
    while chunk := list(islice(iterator, size)):
        yield chunk


def import_events(events: Iterable[EventIn], batch_size: int = 5000) -> int:
    """Validate and store events straight into the database, ``batch_size`` at a time.

    Each event must name its ``user_id`` or ``visitor_id``. Idempotent on ``event_id``: running
    an import twice stores every event once. Each batch is all-or-nothing; returns rows written.
    The live state is updated with the new rows too.
    """
    written = 0
    store = get_live_store()
    for chunk in _chunks(events, batch_size):
        rows = build_rows(chunk, source=Event.Source.IMPORT)
        new_rows = insert_rows(rows, batch_size=batch_size)
        store.apply(new_rows)
        written += len(new_rows)
    return written
