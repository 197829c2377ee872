"""Writing validated rows into the Event table: bulk, idempotent, all-or-nothing per call."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import DataError, IntegrityError, connections, router, transaction

from recommendations import signals
from recommendations.models import Event, VisitorLink
from recommendations.schema import EventRow

logger = logging.getLogger(__name__)


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


# EventRow attribute -> Event field, in column order of the INSERT.
_COLUMNS = (
    ("event_id", "event_id"),
    ("kind", "kind"),
    ("created_at", "created_at"),
    ("source", "source"),
    ("visitor_id", "visitor_id"),
    ("user_id", "user"),
    ("product_id", "product"),
    ("query", "query"),
    ("result_count", "result_count"),
    ("quantity", "quantity"),
    ("unit_price", "unit_price"),
    ("order_id", "order_id"),
    ("slot", "slot"),
    ("position", "position"),
    ("token", "token"),
    ("ip", "ip"),
    ("device", "device"),
    ("context", "context"),
)


def _insert_new(rows: Sequence[EventRow], batch_size: int, using: str) -> set:
    """``INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id`` in chunks; returns the
    event ids that were inserted (PostgreSQL, and SQLite >= 3.35).

    Django's ``bulk_create(ignore_conflicts=True)`` cannot say which rows were new, which would
    cost a SELECT of the existing ids first. Values go through each field's own database
    preparation; the SQL text holds only quoted names from the model's metadata.
    """
    connection = connections[using]
    meta = Event._meta
    fields = [(attribute, meta.get_field(name)) for attribute, name in _COLUMNS]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for _, field in fields)
    event_id_field = meta.get_field("event_id")
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, min(batch_size, connection.ops.bulk_batch_size([f for _, f in fields], rows)))
    table, key = quote(meta.db_table), quote(event_id_field.column)
    head = f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 - quoted names from model metadata
    tail = f" ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
    inserted: set = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params = [
                field.get_db_prep_save(getattr(row, attribute), connection)
                for row in chunk
                for attribute, field in fields
            ]
            cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, params)
            inserted.update(event_id_field.to_python(value) for (value,) in cursor.fetchall())
    return inserted


def _insert_new_portable(rows: Sequence[EventRow], batch_size: int, using: str) -> set:
    """The same for databases without ``ON CONFLICT ... RETURNING`` (MySQL/MariaDB, Oracle): a
    SELECT of the ids already stored, then ``bulk_create(ignore_conflicts=True)``."""
    ids = [row.event_id for row in rows]
    existing = set(Event.objects.using(using).filter(event_id__in=ids).values_list("event_id", flat=True))
    new_rows = [row for row in rows if row.event_id not in existing]
    fields = [(attribute, Event._meta.get_field(name).attname) for attribute, name in _COLUMNS]
    Event.objects.using(using).bulk_create(
        [Event(**{attname: getattr(row, attribute) for attribute, attname in fields}) for row in new_rows],
        batch_size=batch_size,
        ignore_conflicts=True,
    )
    return {row.event_id for row in new_rows}


def insert_rows(rows: Sequence[EventRow], *, batch_size: int = 2000) -> list[EventRow]:
    """Insert rows not yet stored (by ``event_id``) in one transaction; returns the new rows.

    One statement per chunk: the database skips rows whose ``event_id`` is stored already and
    reports the ones it inserted, so a retry of rows already stored inserts nothing and the
    caller may re-run a batch safely.
    """
    if not rows:
        return []
    unique: dict = {}
    for row in rows:
        unique.setdefault(row.event_id, row)
    candidates = list(unique.values())
    using = router.db_for_write(Event)
    with transaction.atomic(using=using):
        attach_linked_users(candidates)
        insert = (
            _insert_new if connections[using].vendor in ("postgresql", "sqlite") else _insert_new_portable
        )
        inserted = insert(candidates, batch_size, using)
        new_rows = [row for row in candidates if row.event_id in inserted]
        if new_rows:
            transaction.on_commit(lambda: _announce(new_rows), using=using)
    return new_rows


def _announce(rows: Sequence[EventRow]) -> None:
    """Tell the features above (portraits) that rows were stored; a failing receiver never fails
    the write."""
    for receiver, result in signals.events_stored.send_robust(sender=EventRow, rows=rows):
        if isinstance(result, Exception):
            logger.error("recommendations: events_stored receiver %r failed", receiver, exc_info=result)


# What the database (or the driver, encoding a value) raises for a row it refuses: a constraint,
# a value it cannot store (NUL in text, an out-of-range date, an unpaired surrogate). Losing the
# connection (OperationalError, InterfaceError) is not a row's fault: it propagates, and the
# caller retries the whole batch later.
ROW_ERRORS = (IntegrityError, DataError, ValueError)


def insert_rows_isolating_failures(
    rows: Sequence[EventRow],
) -> tuple[list[EventRow], list[tuple[EventRow, str]]]:
    """Like :func:`insert_rows`, but a row the database refuses (its user was deleted, text it
    cannot store...) is set aside instead of failing its neighbours. Returns (inserted, refused),
    each refused row with the database's reason.

    A refused batch is split in halves until the refused rows stand alone: k bad rows in a batch
    of n cost about k * log2(n) extra transactions, not n.
    """
    try:
        return insert_rows(rows), []
    except ROW_ERRORS as exc:
        if len(rows) == 1:
            logger.error("Event %s refused by the database: %s", rows[0].event_id, exc)
            return [], [(rows[0], f"{type(exc).__name__}: {exc}"[:500])]
        logger.warning("Batch of %d events refused (%s); isolating the refused rows", len(rows), exc)
    middle = len(rows) // 2
    inserted, refused = insert_rows_isolating_failures(rows[:middle])
    more_inserted, more_refused = insert_rows_isolating_failures(rows[middle:])
    return inserted + more_inserted, refused + more_refused
