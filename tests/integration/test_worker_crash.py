"""A drain worker killed with SIGKILL loses nothing and duplicates nothing.

The stream lives on a private redis-server so the test may pause it. The two dangerous kill
points are forced without any hook in the app: a table lock held by the test stops the worker
inside its database transaction (kill before commit), and ``CLIENT PAUSE WRITE`` stops it after
the commit, before XACK (kill after commit, before acknowledgement).
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from django.db import connection

from recommendations import runtime
from recommendations.ingest import stream
from recommendations.models import Event
from recommendations.schema import EventRow
from tests.integration.conftest import backlog_of
from tests.integration.processes import wait_for
from tests.integration.scenario import START

pytestmark = [pytest.mark.redis, pytest.mark.celery, pytest.mark.slow]


@pytest.fixture
def private_stream(private_redis, redis_settings):
    """The app (in this process and in workers) on the private Redis."""
    redis_settings.RECOMMENDATIONS_REDIS_URL = private_redis.url
    runtime.reset()
    return private_redis


def fill_stream(products: list[str], count: int) -> set[uuid.UUID]:
    """Append ``count`` view events to the stream the way the ingest path does."""
    store = runtime.live_store()
    visitor = uuid.uuid4()
    ids: set[uuid.UUID] = set()
    for start in range(0, count, 500):
        rows = [
            EventRow(
                event_id=uuid.uuid4(),
                kind="view",
                created_at=START + timedelta(milliseconds=n),
                source="api",
                visitor_id=visitor,
                product_id=products[n % len(products)],
            )
            for n in range(start, min(count, start + 500))
        ]
        assert all(store.apply_and_append(rows, append=True))
        ids.update(row.event_id for row in rows)
    return ids


def assert_stored_exactly_once(ids: set[uuid.UUID], client) -> None:
    stored = list(Event.objects.values_list("event_id", flat=True))
    assert len(stored) == len(ids), f"{len(stored)} rows for {len(ids)} events"
    assert set(stored) == ids
    assert backlog_of(client) == {"length": 0, "pending": 0}
    assert client.xlen(stream.dead_letter_key()) == 0  # nothing was set aside as refused


@contextlib.contextmanager
def event_table_locked() -> Iterator[None]:
    """Hold an EXCLUSIVE lock on the event table: reads go on, INSERTs wait."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as lock:
        lock.execute(f"LOCK TABLE {Event._meta.db_table} IN EXCLUSIVE MODE")
        yield
        lock.rollback()


def inserts_waiting_on_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT%%'"
        )
        return cursor.fetchone()[0]


def other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_kill_before_commit_and_after_commit_before_ack(
    requires_postgres, private_stream, catalogue, start_worker
):
    ids = fill_stream(catalogue, 2000)
    client = private_stream.client
    url = private_stream.url

    # 1. Killed inside the transaction: its batch was read (pending) but never committed.
    with event_table_locked():
        first = start_worker(batch_size=500, data_redis_url=url)
        first.drain()
        wait_for(inserts_waiting_on_lock, timeout=30, what="the first worker to block in INSERT")
        assert backlog_of(client) == {"length": 2000, "pending": 500}
        first.kill()
    wait_for(lambda: other_backends() == 0, timeout=10, what="the killed worker's backend to go")
    assert Event.objects.count() == 0
    assert backlog_of(client) == {"length": 2000, "pending": 500}

    # 2. Killed after its commit, before XACK: it re-claimed the dead worker's batch, stored it,
    #    and died while Redis held its acknowledgement back.
    with event_table_locked():
        second = start_worker(batch_size=500, claim_idle=0.2, data_redis_url=url)
        second.drain()
        wait_for(inserts_waiting_on_lock, timeout=30, what="the second worker to block in INSERT")
        client.execute_command("CLIENT", "PAUSE", 20_000, "WRITE")
    try:
        wait_for(lambda: Event.objects.count() == 500, timeout=10, interval=0.002, what="the commit")
        second.kill()
    finally:
        client.execute_command("CLIENT", "UNPAUSE")
    assert "succeeded" not in second.log()
    assert Event.objects.count() == 500
    assert backlog_of(client) == {"length": 2000, "pending": 500}

    # 3. A new worker re-claims the stored-but-unacknowledged batch (a no-op insert) and drains
    #    the rest.
    third = start_worker(batch_size=500, claim_idle=0.2, data_redis_url=url)
    third.drain()
    wait_for(lambda: backlog_of(client)["length"] == 0, timeout=30, what="the stream to empty")

    assert_stored_exactly_once(ids, client)


def test_kills_at_random_points_lose_and_duplicate_nothing(private_stream, catalogue, start_worker):
    ids = fill_stream(catalogue, 6000)
    client = private_stream.client
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    interrupted = 0
    for _ in range(3):
        worker = start_worker(batch_size=200, claim_idle=0.2, data_redis_url=private_stream.url)
        worker.drain()
        wait_for(
            lambda: backlog_of(client)["pending"] > 0 or backlog_of(client)["length"] == 0,
            timeout=30,
            interval=0.005,
            what="the worker to start reading",
        )
        time.sleep(rng.uniform(0.0, 0.2))
        worker.kill()
        interrupted += backlog_of(client)["length"] > 0
    assert interrupted >= 1, f"every worker finished before its kill (seed {seed}); nothing was tested"

    last = start_worker(batch_size=200, claim_idle=0.2, data_redis_url=private_stream.url)
    last.drain()
    wait_for(lambda: backlog_of(client)["length"] == 0, timeout=30, what=f"the stream to empty (seed {seed})")

    assert_stored_exactly_once(ids, client)
