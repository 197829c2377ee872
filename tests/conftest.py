"""Shared fixtures. Services (PostgreSQL, Redis) are used when reachable through env vars;
otherwise tests that need them are skipped with the reason, except when
RECOMMENDATIONS_REQUIRE_SERVICES=1 (CI), where a missing service fails the run instead."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

import pytest
from django.conf import settings

from recommendations import runtime

REQUIRE_SERVICES = os.environ.get("RECOMMENDATIONS_REQUIRE_SERVICES") == "1"


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (RECOMMENDATIONS_REQUIRE_SERVICES=1: services are required)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = settings.TEST_REDIS_URL
    if not url:
        _missing("REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _missing(f"Redis at {url} is not reachable: {exc}")
    return url


@pytest.fixture
def redis_settings(settings, redis_url):
    """Switch the app to Redis mode (stream ingest + Redis live state) on a private key prefix."""
    settings.RECOMMENDATIONS_REDIS_URL = redis_url
    settings.RECOMMENDATIONS_REDIS_KEY_PREFIX = f"rectest:{uuid.uuid4().hex[:8]}:"
    runtime.reset()
    yield settings
    runtime.live_store().clear()
    runtime.reset()


@pytest.fixture
def postgres(db):
    if db.__class__ is None or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        _missing("DATABASE_URL does not point at PostgreSQL")


@pytest.fixture(autouse=True)
def _fresh_runtime():
    """Each test starts with fresh process-wide objects (empty in-process live store, caches)."""
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def category(db):
    from tests.testapp.models import Category

    root = Category.objects.create(name="Outdoor")
    return Category.objects.create(name="Tents", parent=root)


@pytest.fixture
def item(db, category):
    from tests.testapp.models import Item

    return Item.objects.create(name="Tent", blurb="A tent", category=category, price=Decimal("99.00"))


@pytest.fixture
def items(db, category):
    from tests.testapp.models import Item

    return [Item.objects.create(name=f"Item {n}", category=category, price=Decimal(10 + n)) for n in range(5)]


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"


@pytest.fixture
def browser_ua() -> dict[str, str]:
    return {"HTTP_USER_AGENT": BROWSER_UA}


@pytest.fixture
def client():
    """A test client that sends a browser's User-Agent, as every browser does: without one a
    request is a bot and records no anonymous event (recommendations/tracking/bots.py)."""
    from django.test import Client

    return Client(HTTP_USER_AGENT=BROWSER_UA)


@pytest.fixture
def api_accepts_every_kind(settings):
    """The HTTP API accepts every event kind, as in a shop whose pages report cart changes and
    purchases from the browser (API_EVENT_KINDS opened up); for tests of ingest itself, which post
    carts and purchases through HTTP to check what is stored."""
    from recommendations.conf import app_settings

    settings.RECOMMENDATIONS_API_EVENT_KINDS = tuple(app_settings.event_weights)
    return settings


def pytest_sessionfinish(session, exitstatus):
    """The test database runs in WAL mode (recommendations.sqlite): a connection some thread never
    closed leaves its -wal/-shm files behind once the database itself is deleted; remove them."""
    remove_orphaned_wal_files(settings.DATABASES["default"])


def remove_orphaned_wal_files(database: dict) -> None:
    name = str((database.get("TEST") or {}).get("NAME") or "")
    if database.get("ENGINE") != "django.db.backends.sqlite3" or not name or os.path.exists(name):
        return
    for suffix in ("-wal", "-shm"):
        if os.path.exists(name + suffix):
            os.remove(name + suffix)


# Fixtures that mean "this test needs a real service".
SERVICE_FIXTURES = frozenset({"redis_url", "redis_settings", "postgres"})


def pytest_collection_modifyitems(config, items):
    """The embedded-defaults pass (``make test-embedded``, after the main pass ran on the real
    services) deselects service tests (service fixtures, ``redis``/``postgres`` marks) instead of
    skipping them: they already ran."""
    if os.environ.get("RECOMMENDATIONS_EMBEDDED_PASS") != "1":
        return
    keep, drop = [], []
    for item in items:
        needs_service = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
        needs_service = (
            needs_service or item.get_closest_marker("redis") or item.get_closest_marker("postgres")
        )
        (drop if needs_service else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
