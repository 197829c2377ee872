"""Writing validated rows into the Event table: bulk, idempotent, all-or-nothing per call."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import IntegrityError, transaction

from recommendations.models import Event, VisitorLink
from recommendations.tracking.schema import EventRow

logger = logging.getLogger(__name__)


def _to_model(row: EventRow) -> Event:
    return Event(
        event_id=row.event_id,
        kind=row.kind,
        created_at=row.created_at,
        source=row.source,
        visitor_id=row.visitor_id,
        user_id=row.user_id,
        product_id=row.product_id,
        query=row.query,
        result_count=row.result_count,
        quantity=row.quantity,
        unit_price=row.unit_price,
        order_id=row.order_id,
        slot=row.slot,
        position=row.position,
        token=row.token,
        ip=row.ip,
        device=row.device,
        context=row.context,
    )


def attach_linked_users(rows: Sequence[EventRow]) -> None:
    """Give anonymous rows of visitors who have since logged in their user (late beacons,
    events still in the stream at login)."""
    anonymous = {row.visitor_id for row in rows if row.user_id is None and row.visitor_id}
    if not anonymous:
        return
    links = dict(VisitorLink.objects.filter(visitor_id__in=anonymous).values_list("visitor_id", "user_id"))
    for row in rows:
        if row.user_id is None and row.visitor_id in links:
            row.user_id = str(links[row.visitor_id])


def insert_rows(rows: Sequence[EventRow], *, batch_size: int = 2000) -> list[EventRow]:
    """Insert rows not yet stored (by ``event_id``) in one transaction; returns the new rows.

    A retry of rows already stored inserts nothing, so the caller may re-run a batch safely.
    """
    if not rows:
        return []
    unique: dict = {}
    for row in rows:
        unique.setdefault(row.event_id, row)
    with transaction.atomic():
        existing = set(Event.objects.filter(event_id__in=list(unique)).values_list("event_id", flat=True))
        new_rows = [row for key, row in unique.items() if key not in existing]
        attach_linked_users(new_rows)
        Event.objects.bulk_create(
            [_to_model(row) for row in new_rows], batch_size=batch_size, ignore_conflicts=True
        )
        if new_rows:
            transaction.on_commit(lambda: _portraits_changed(new_rows))
    return new_rows


def _portraits_changed(rows: Sequence[EventRow]) -> None:
    """Debounced portrait rebuild of the subjects of stored rows; never fails the write."""
    from recommendations.services.portraits import schedule_for_rows

    try:
        schedule_for_rows(rows)
    except Exception:
        logger.exception("recommendations: could not schedule portrait rebuilds")


def insert_rows_isolating_failures(rows: Sequence[EventRow]) -> tuple[list[EventRow], list[EventRow]]:
    """Like :func:`insert_rows`, but a row the database refuses (e.g. its user was deleted) is
    set aside instead of failing its neighbours. Returns (inserted, refused)."""
    try:
        return insert_rows(rows), []
    except IntegrityError:
        logger.warning("Batch of %d events refused; retrying row by row", len(rows))
    inserted: list[EventRow] = []
    refused: list[EventRow] = []
    for row in rows:
        try:
            inserted.extend(insert_rows([row]))
        except IntegrityError:
            logger.exception("Event %s refused by the database", row.event_id)
            refused.append(row)
    return inserted, refused
