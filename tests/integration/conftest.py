"""Fixtures for tests against real services: Celery worker processes, private Redis servers,
a live HTTP server in Redis mode. Another process must see the test's rows, so these fixtures
use ``transactional_db`` (committed data) rather than ``db``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from django.db import connection

from recommendations import runtime
from recommendations.ingest import stream
from tests.conftest import REQUIRE_SERVICES
from tests.integration.processes import Gunicorn, RedisServer, Worker, base_env, database_url


@pytest.fixture
def requires_postgres(transactional_db) -> None:
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("DATABASE_URL does not point at PostgreSQL (RECOMMENDATIONS_REQUIRE_SERVICES=1)")
        pytest.skip("DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def catalogue(transactional_db) -> list[str]:
    """Five committed products in a two-level category, as canonical id strings."""
    from tests.testapp.models import Category, Item

    root = Category.objects.create(name="Outdoor")
    tents = Category.objects.create(name="Tents", parent=root)
    return [
        str(Item.objects.create(name=f"Item {n}", category=tents, price=Decimal(10 + n)).pk) for n in range(5)
    ]


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, so the test may pause or kill it without touching
    anybody else's Redis."""
    try:
        server = RedisServer(tmp_path)
    except FileNotFoundError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"{exc} (RECOMMENDATIONS_REQUIRE_SERVICES=1)")
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def start_worker(transactional_db, redis_settings, redis_url, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start Celery workers on the test database and the test's Redis key prefix. Every worker
    started is stopped at teardown. ``data_redis_url`` points the app (not the broker) elsewhere,
    ``broker_url`` the broker."""
    workers: list[Worker] = []

    def start(
        *,
        claim_idle: float = 60.0,
        batch_size: int = 2000,
        data_redis_url: str | None = None,
        broker_url: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Worker:
        env = base_env()
        env.update(
            DATABASE_URL=database_url(connection.settings_dict),
            REDIS_URL=broker_url or redis_url,
            RECOMMENDATIONS_TEST_REDIS_URL=data_redis_url or redis_settings.RECOMMENDATIONS_REDIS_URL,
            RECOMMENDATIONS_TEST_KEY_PREFIX=redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX,
            RECOMMENDATIONS_TEST_CLAIM_IDLE_SECONDS=str(claim_idle),
            RECOMMENDATIONS_TEST_DRAIN_BATCH_SIZE=str(batch_size),
        )
        env.update(extra_env or {})
        worker = Worker(env, broker_url or redis_url, tmp_path)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
        worker.forget_queue()


def stack_env(redis_settings, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server or worker process of the test project: the test's PostgreSQL
    database, Redis mode on the test's key prefix, plus ``extra`` settings."""
    env = base_env()
    env.update(
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=redis_url,
        RECOMMENDATIONS_TEST_REDIS_URL=redis_settings.RECOMMENDATIONS_REDIS_URL,
        RECOMMENDATIONS_TEST_KEY_PREFIX=redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX,
        **extra,
    )
    return env


@pytest.fixture
def gunicorn(requires_postgres, redis_settings, redis_url, tmp_path) -> Iterator[Gunicorn]:
    """The test project under gunicorn (docs/gunicorn.conf.py) on the test's PostgreSQL database,
    in Redis mode on the test's key prefix, with the project's default settings otherwise."""
    server = Gunicorn(stack_env(redis_settings, redis_url), tmp_path)
    yield server
    server.stop()


def backlog_of(client) -> dict[str, int]:
    """Stream length and pending (read, unacknowledged) entries, for any Redis client."""
    stream.ensure_group(client)
    pending = client.xpending(stream.stream_key(), stream.GROUP)
    return {"length": client.xlen(stream.stream_key()), "pending": int(pending["pending"])}


@pytest.fixture
def redis_client(redis_settings):
    return runtime.redis_client()
