"""Draining the Redis event stream into the database.

Entries are read through a consumer group and acknowledged (and deleted) only after the database
transaction that stores them has committed. A worker killed mid-batch leaves its entries pending;
the next drain re-claims entries pending for longer than ``DRAIN_CLAIM_IDLE_SECONDS``. Re-inserting
an entry that did reach the database is a no-op (``event_id`` is unique), so nothing is lost and
nothing is counted twice.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import redis

from recommendations.conf import app_settings
from recommendations.connections import redis_client
from recommendations.ingest.database import insert_rows_isolating_failures
from recommendations.schema import EventRow

logger = logging.getLogger(__name__)

GROUP = "recommendations-drain"


@dataclass(frozen=True)
class DrainResult:
    read: int = 0
    inserted: int = 0
    dead_lettered: int = 0


def decode_row(payload: bytes | str) -> EventRow:
    data = json.loads(payload)
    return EventRow(
        event_id=uuid.UUID(data["event_id"]),
        kind=data["kind"],
        created_at=datetime.fromisoformat(data["created_at"]),
        source=data["source"],
        visitor_id=uuid.UUID(data["visitor_id"]) if data.get("visitor_id") else None,
        user_id=data.get("user_id"),
        product_id=data.get("product_id"),
        categories=tuple(data.get("categories") or ()),
        query=data.get("query") or "",
        result_count=data.get("result_count"),
        quantity=data.get("quantity"),
        unit_price=None if data.get("unit_price") is None else Decimal(data["unit_price"]),
        order_id=data.get("order_id") or "",
        slot=data.get("slot") or "",
        position=data.get("position"),
        token=data.get("token") or "",
        ip=data.get("ip") or "",
        device=data.get("device") or "",
        context=data.get("context") or {},
    )


def stream_key() -> str:
    return f"{app_settings.REDIS_KEY_PREFIX}stream"


def dead_letter_key() -> str:
    return f"{app_settings.REDIS_KEY_PREFIX}stream:dead"


def heartbeat_key() -> str:
    """A hash: when a worker last finished a drain (Redis server time), who, and what it stored."""
    return f"{app_settings.REDIS_KEY_PREFIX}drain:heartbeat"


def server_time(client: redis.Redis) -> float:
    """Redis's own clock (seconds): heartbeats and entry ages compare against one clock, whatever
    the clocks of the machines running workers and health checks say."""
    seconds, microseconds = client.time()
    return seconds + microseconds / 1_000_000


def record_heartbeat(client: redis.Redis, consumer: str, inserted: int) -> None:
    client.hset(
        heartbeat_key(),
        mapping={"at": repr(server_time(client)), "consumer": consumer, "inserted": inserted},
    )


def ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(stream_key(), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _next_batch(client: redis.Redis, consumer: str, count: int, idle_ms: int) -> list:
    # Entries a dead consumer left pending come first, then new ones.
    claimed = client.xautoclaim(
        stream_key(), GROUP, consumer, min_idle_time=idle_ms, start_id="0-0", count=count
    )
    entries = claimed[1] if claimed else []
    entries = [entry for entry in entries if entry and entry[1]]
    if entries:
        return entries
    response = client.xreadgroup(GROUP, consumer, {stream_key(): ">"}, count=count)
    return response[0][1] if response else []


def drain(
    *,
    consumer: str | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    heartbeat: bool = False,
) -> DrainResult:
    """Move stream entries into the database until the stream is empty (or ``max_batches``).

    ``heartbeat``: record the drain's end in Redis (:func:`heartbeat_key`), as the worker's
    periodic task does, so ``manage.py recommendations_health`` can tell that draining goes on. A
    drain that fails records nothing."""
    client = redis_client()
    if client is None:
        return DrainResult()
    consumer = consumer or default_consumer()
    count = batch_size or app_settings.DRAIN_BATCH_SIZE
    idle_ms = int(app_settings.DRAIN_CLAIM_IDLE_SECONDS * 1000)
    ensure_group(client)
    read = inserted = dead = batches = 0
    while max_batches is None or batches < max_batches:
        entries = _next_batch(client, consumer, count, idle_ms)
        if not entries:
            break
        batches += 1
        rows, entry_of_event, bad = [], {}, []
        for entry_id, fields in entries:
            try:
                row = decode_row(fields[b"e"])
            except (KeyError, ValueError, TypeError) as exc:
                bad.append((entry_id, fields, repr(exc)))
                continue
            rows.append(row)
            entry_of_event[row.event_id] = (entry_id, fields)
        new_rows, refused = insert_rows_isolating_failures(rows)  # commits before we acknowledge
        for row, reason in refused:
            entry_id, fields = entry_of_event[row.event_id]
            bad.append((entry_id, fields, f"refused by the database: {reason}"))
        pipe = client.pipeline(transaction=True)
        for entry_id, fields, error in bad:
            # The entry's own fields (its payload "e") go with it, so it can be inspected and replayed.
            pipe.xadd(dead_letter_key(), {"entry": entry_id, "error": error, **fields})
        entry_ids = [entry_id for entry_id, _ in entries]
        pipe.xack(stream_key(), GROUP, *entry_ids)
        pipe.xdel(stream_key(), *entry_ids)
        pipe.execute()
        read += len(entries)
        inserted += len(new_rows)
        dead += len(bad)
    if dead:
        logger.error("%d stream entries could not be stored; see Redis key %s", dead, dead_letter_key())
    if heartbeat:
        record_heartbeat(client, consumer, inserted)
    return DrainResult(read=read, inserted=inserted, dead_lettered=dead)


def backlog() -> dict[str, int]:
    """Entries waiting in the stream and entries read but not yet acknowledged."""
    client = redis_client()
    if client is None:
        return {"length": 0, "pending": 0}
    ensure_group(client)
    pending = client.xpending(stream_key(), GROUP)
    return {"length": client.xlen(stream_key()), "pending": int(pending["pending"])}
