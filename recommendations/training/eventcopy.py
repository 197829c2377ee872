"""The event log read on PostgreSQL: numbered by the database, streamed as binary ``COPY``.

The per-row loop of the portable reader (:mod:`.eventlog`) costs seconds per million events in
Python alone. Here PostgreSQL does the joins and numbering: the catalogue's ids go into a
temporary table (product key -> item index), the subjects (``u:<user>`` / ``v:<visitor>``) and
purchases' order ids of the events read get a code each in two more, and one ``COPY (SELECT ...)
TO STDOUT (FORMAT BINARY)`` sends six fixed-width numeric columns per event (the time as
``date_part('epoch', ...)``: the float ``datetime.timestamp()`` gives), which numpy reads as
one structured array. What it returns is what the portable reader returns on the same table, row
for row (in time order, then event id; subjects and orders numbered by first appearance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import DEFAULT_DB_ALIAS, connections

from recommendations.engine.interactions import IdIndex
from recommendations.models import Event

#: one event as COPY sends it: field count, then (length, value) per column, big-endian
ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("subject_len", ">i4"),
        ("subject", ">i4"),
        ("item_len", ">i4"),
        ("item", ">i4"),
        ("kind_len", ">i4"),
        ("kind", ">i2"),
        ("stamp_len", ">i4"),
        ("stamp", ">f8"),
        ("order_len", ">i4"),
        ("order", ">i4"),
        ("id_len", ">i4"),
        ("id", ">i8"),
    ]
)
#: the same columns in native order, without the lengths (what is kept while the rest streams in)
COMPACT = np.dtype(
    [("subject", "i4"), ("item", "i4"), ("kind", "i2"), ("stamp", "f8"), ("order", "i4"), ("id", "i8")]
)
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
TRAILER = b"\xff\xff"
#: bytes of COPY data parsed at a time (bounds the raw buffer next to the parsed columns)
PARSE_BYTES = 1 << 25
ITEMS, USERS, VISITORS, ORDERS = "rec_read_items", "rec_read_users", "rec_read_visitors", "rec_read_orders"
#: PostgreSQL's memory per hash table or sort while the log is read
WORK_MEM = "256MB"
TEMPORARY = f"{ITEMS}, {USERS}, {VISITORS}, {ORDERS}"


@dataclass(frozen=True)
class Columns:
    """The events read, as arrays; subjects and purchase orders numbered by first appearance."""

    subjects: np.ndarray  # int64 per event
    subject_keys: list[str]  # code -> subject key
    items: np.ndarray  # int64
    kinds: np.ndarray  # int16: index into the kind names
    timestamps: np.ndarray  # float64 unix seconds
    orders: np.ndarray  # int64 per event: the (subject, order id) code of a purchase, else -1
    n_orders: int


def first_appearance(codes: np.ndarray, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Renumber ``codes`` (non-negative ints) 0.. in the order each first appears; returns the new
    codes and, per new code, the old one."""
    if not len(codes):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    old, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")
    new_of_slot = np.empty(len(old), np.int64)
    new_of_slot[by_first] = np.arange(len(old))
    return new_of_slot[inverse.reshape(-1)], old[by_first].astype(np.int64)


def read_columns(item_index: IdIndex, kind_names: Sequence[str], since: datetime | None) -> Columns:
    """The events of ``kind_names`` with a product of ``item_index`` (and newer than ``since``)."""
    connection = connections[DEFAULT_DB_ALIAS]
    qn = connection.ops.quote_name
    table = qn(Event._meta.db_table)
    col = {name: qn(Event._meta.get_field(name).column) for name in ("user", "product", "kind", "created_at")}
    visitor = qn(Event._meta.get_field("visitor_id").column)
    order_id, pk = qn(Event._meta.get_field("order_id").column), qn(Event._meta.pk.column)
    kinds = ", ".join(["%s"] * len(kind_names))
    where = f"e.{col['kind']} IN ({kinds})" + (
        f" AND e.{col['created_at']} >= %s" if since is not None else ""
    )
    params: list = [*kind_names, *([since] if since is not None else [])]
    user, anonymous = f"e.{col['user']} IS NOT NULL", f"e.{col['user']} IS NULL"
    with connection.cursor() as cursor:
        try:
            # the hash tables of a million subjects fit in memory instead of spilling in batches
            # (at 10M events: 9 s instead of minutes for the visitors); reset after the read
            cursor.execute(f"SET work_mem = '{WORK_MEM}'")
            _temp_items(cursor, table, col["product"], item_index)
            # one code per user, then per anonymous visitor (after the users'), each a hash join
            # on the column's own type; keys as subject_key spells them. Codes of subjects whose
            # every event is of a product gone are never used (first_appearance drops them)
            for name, column, which in ((USERS, col["user"], user), (VISITORS, visitor, anonymous)):
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {name} AS SELECT k, (row_number() OVER () - 1)::int4 AS code"
                    f" FROM (SELECT DISTINCT e.{column} AS k FROM {table} e WHERE {where} AND {which}) d",
                    params,
                )
            keys: list = []
            for name, prefix in ((USERS, "u:"), (VISITORS, "v:")):
                cursor.execute(f"SELECT k::text FROM {name} ORDER BY code")
                keys.extend(None if k is None else prefix + k for (k,) in cursor.fetchall())
            if None in keys:
                raise ValueError("An event needs a user or a visitor id.")
            n_users = len(keys) - cursor.execute(f"SELECT count(*) FROM {VISITORS}").fetchone()[0]
            cursor.execute(
                f"CREATE TEMPORARY TABLE {ORDERS} AS SELECT o AS order_id, (row_number() OVER () - 1)::int4 AS code"
                f" FROM (SELECT DISTINCT e.{order_id} AS o FROM {table} e WHERE {where}"
                f" AND e.{col['kind']} = 'purchase') d",
                params,
            )
            cursor.execute(f"SELECT count(*) FROM {ORDERS}")
            n_order_ids = int(cursor.fetchone()[0])
            kind_case = " ".join(f"WHEN %s THEN {n}" for n in range(len(kind_names)))
            query = (
                f"SELECT coalesce(u.code, v.code + {n_users}), i.idx, (CASE e.{col['kind']} {kind_case} END)::int2,"
                f" date_part('epoch', e.{col['created_at']}), coalesce(o.code, -1), e.{pk}::int8"
                f" FROM {table} e JOIN {ITEMS} i ON i.pid = e.{col['product']}"
                f" LEFT JOIN {USERS} u ON u.k = e.{col['user']}"
                f" LEFT JOIN {VISITORS} v ON {anonymous} AND v.k = e.{visitor}"
                f" LEFT JOIN {ORDERS} o ON e.{col['kind']} = 'purchase' AND o.order_id = e.{order_id}"
                f" WHERE {where}"
            )
            rows = _copy_rows(cursor, connection.ops.compose_sql(query, [*kind_names, *params]))
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {TEMPORARY}")
            cursor.execute("RESET work_mem")
    # in time order, then event id, as the portable reader reads them (the join's order is the
    # planner's); a table written in time order is nearly sorted already, which makes the stable
    # sorts cheap
    order = np.argsort(rows["id"], kind="stable")
    rows = rows[order[np.argsort(rows["stamp"][order], kind="stable")]]
    subjects, old_subject = first_appearance(rows["subject"].astype(np.int64))
    bought = rows["order"] >= 0
    orders = np.full(len(rows), -1, np.int64)
    pair = subjects[bought] * max(n_order_ids, 1) + rows["order"][bought].astype(np.int64)
    orders[bought], order_pairs = first_appearance(pair)
    return Columns(
        subjects=subjects,
        subject_keys=[keys[c] for c in old_subject.tolist()],
        items=rows["item"].astype(np.int64),
        kinds=rows["kind"].astype(np.int16),
        timestamps=rows["stamp"].astype(np.float64),
        orders=orders,
        n_orders=len(order_pairs),
    )


def _temp_items(cursor, table: str, product_column: str, item_index: IdIndex) -> None:
    """``ITEMS``: product key (the event column's own type) -> item index."""
    cursor.execute(f"DROP TABLE IF EXISTS {TEMPORARY}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {ITEMS} AS SELECT {product_column} AS pid, 0::int4 AS idx FROM {table} LIMIT 0"
    )
    with cursor.cursor.copy(f"COPY {ITEMS} (pid, idx) FROM STDIN") as copy:
        for idx, pid in enumerate(item_index.ids.tolist()):
            copy.write_row((pid, idx))
    cursor.execute(f"ANALYZE {ITEMS}")


def _copy_rows(cursor, query: str) -> np.ndarray:
    """Run ``COPY (query) TO STDOUT (FORMAT BINARY)`` and parse its rows (:data:`ROW`) as
    :data:`COMPACT` values, a bounded piece of the raw data at a time. PostgreSQL sends one
    message per row: they are taken straight from libpq (psycopg's ``Copy`` iterator costs
    microseconds a message, most of the read at ten million rows)."""
    from psycopg import pq

    conn = cursor.cursor.connection
    parts: list[np.ndarray] = []
    buffer = bytearray()
    with conn.lock:
        pgconn = conn.pgconn
        pgconn.send_query(f"COPY ({query}) TO STDOUT (FORMAT BINARY)".encode())
        result = pgconn.get_result()
        if result is None or result.status != pq.ExecStatus.COPY_OUT:
            error = None if result is None else result.error_message.decode(errors="replace")
            _drain(pgconn)
            raise RuntimeError(f"COPY did not start: {error}")
        get = pgconn.get_copy_data
        while True:
            size, data = get(0)
            if size < 0:
                break
            buffer += data
            if len(buffer) >= PARSE_BYTES:
                parts.append(_parse(buffer, first=not parts))
        errors = _drain(pgconn)
        if size == -2 or errors:
            raise RuntimeError(f"COPY failed: {errors or pgconn.error_message.decode(errors='replace')}")
    if bytes(buffer[-2:]) != TRAILER or (not parts and len(buffer) < 21):
        raise ValueError("truncated PostgreSQL binary COPY data")
    del buffer[-2:]
    parts.append(_parse(buffer, first=not parts))
    if buffer:
        raise ValueError("PostgreSQL binary COPY rows of an unexpected width")
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _drain(pgconn) -> str:
    """Read the command's remaining results; their error messages, if any."""
    from psycopg import pq

    errors = []
    while (result := pgconn.get_result()) is not None:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            errors.append(result.error_message.decode(errors="replace"))
    return "; ".join(errors)


def _parse(buffer: bytearray, first: bool = False) -> np.ndarray:
    """The whole rows at the start of ``buffer`` (removed from it), as :data:`COMPACT` values;
    ``first``: the buffer starts with the COPY header (also removed)."""
    if first:
        if bytes(buffer[:11]) != SIGNATURE:
            raise ValueError("not PostgreSQL binary COPY data")
        del buffer[: 19 + int.from_bytes(buffer[15:19], "big")]
    n = len(buffer) // ROW.itemsize
    rows = np.frombuffer(memoryview(buffer)[: n * ROW.itemsize], dtype=ROW)
    if n and not (rows["fields"] == 6).all():
        raise ValueError("PostgreSQL binary COPY rows of an unexpected width")
    out = np.empty(n, COMPACT)
    for name in COMPACT.names:
        out[name] = rows[name]
    del rows
    del buffer[: n * ROW.itemsize]
    return out
