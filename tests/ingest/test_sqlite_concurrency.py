"""Concurrent writers lose nothing on the embedded default database.

On SQLite this needs the settings of :mod:`recommendations.sqlite` (IMMEDIATE transactions, a busy
timeout, WAL), which ``tests/settings.py`` applies as a shop is told to: with Django's default
DEFERRED transactions, writers racing to upgrade their read lock fail with "database is locked".
On PostgreSQL the same test holds with nothing special.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from recommendations.models import Event
from recommendations.schema import EventIn
from recommendations.tracking.recorder import record
from recommendations.tracking.visitors import Visitor

THREADS, EVENTS_EACH = 4, 50


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_store_every_event(items):
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(index: int) -> None:
        from django.db import connection as thread_connection

        visitor = Visitor(uuid.uuid4(), None, opted_out=False, is_bot=False, ip="", device="desktop")
        try:
            start.wait()
            for n in range(EVENTS_EACH):
                event = EventIn(
                    kind="view", product_id=str(items[n % len(items)].pk), event_id=f"{index}-{n}"
                )
                record([event], source=Event.Source.API, visitor=visitor)
        except BaseException as exc:
            failures.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == [], f"{len(failures)} writers failed, e.g. {failures[0]!r}"
    assert Event.objects.count() == THREADS * EVENTS_EACH
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"


def test_configure_sqlite_adds_the_options_and_keeps_the_shops_own():
    from recommendations.sqlite import configure_sqlite

    entry = configure_sqlite({"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"})
    assert entry["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert entry["OPTIONS"]["timeout"] == 20
    assert "journal_mode=WAL" in entry["OPTIONS"]["init_command"]
    own = configure_sqlite({"ENGINE": "django.db.backends.sqlite3", "OPTIONS": {"timeout": 60}})
    assert own["OPTIONS"]["timeout"] == 60 and own["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    postgres = {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}
    assert configure_sqlite(postgres) is postgres


@pytest.mark.parametrize(
    ("options", "warned"),
    [({}, True), ({"transaction_mode": "DEFERRED"}, True), ({"transaction_mode": "IMMEDIATE"}, False)],
)
def test_check_warns_when_events_go_to_sqlite_without_immediate_transactions(monkeypatch, options, warned):
    from django.conf import settings

    from recommendations.checks import check_sqlite_concurrency

    # No test here opens a connection: the entry is read by the check only.
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.sqlite3")
    monkeypatch.setitem(settings.DATABASES["default"], "OPTIONS", options)
    ids = [message.id for message in check_sqlite_concurrency()]
    assert ids == (["recommendations.W004"] if warned else [])


def test_check_is_silent_on_other_databases(monkeypatch):
    from django.conf import settings

    from recommendations.checks import check_sqlite_concurrency

    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.postgresql")
    monkeypatch.setitem(settings.DATABASES["default"], "OPTIONS", {})
    assert check_sqlite_concurrency() == []
