"""Back-pressure through the real stack: gunicorn workers (each with its own cached reading of the
backlog), Redis, a Celery worker that drains. Over the cap every request is a 429 with
Retry-After and stores nothing; once the worker has drained, the same events are accepted, and
every accepted event is stored exactly once."""

from __future__ import annotations

import time

import pytest

from recommendations.models import Event
from tests.integration.conftest import backlog_of, stack_env
from tests.integration.httpclient import Browser
from tests.integration.processes import Gunicorn, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.celery, pytest.mark.slow]

CAP = 40


@pytest.fixture
def capped_gunicorn(requires_postgres, redis_settings, redis_url, tmp_path):
    env = stack_env(redis_settings, redis_url, RECOMMENDATIONS_TEST_INGEST_MAX_BACKLOG=str(CAP))
    server = Gunicorn(env, tmp_path)
    yield server
    server.stop()


def batch(items: list[str], tag: str, count: int = 10) -> list[dict]:
    return [
        {"kind": "view", "product": items[n % len(items)], "event_id": f"{tag}-{n}"} for n in range(count)
    ]


def test_over_the_cap_429_then_202_once_drained(capped_gunicorn, catalogue, start_worker, redis_client):
    browser = Browser(capped_gunicorn.url)
    accepted: list[dict] = []
    refused: list[list[dict]] = []
    for number in range(12):  # 120 events against a cap of 40, no worker draining
        events = batch(catalogue, f"b{number}")
        status, body = browser.post_events(events)
        if status == 202:
            assert body == {"accepted": 10, "duplicates": 0}
            accepted += events
        else:
            assert status == 429, body
            assert body["error"] == "backlog_full"
            assert browser.last_headers["Retry-After"] == "30" == str(body["retry_after"])
            refused.append(events)
        time.sleep(0.25)  # 12 posts span 3 s: every process re-reads the backlog at least twice
    # Each process re-reads the backlog every second, so a few batches may pass the cap; then the
    # stream stops growing.
    assert refused, "the cap never refused anything"
    assert backlog_of(redis_client)["length"] == len(accepted) < 120
    assert len(accepted) > CAP

    worker = start_worker()
    worker.drain()
    wait_for(lambda: Event.objects.count() == len(accepted), timeout=60, what="the drain")
    time.sleep(1.2)  # every process's reading of the backlog has expired

    for events in refused:
        assert browser.post_events(events) == (202, {"accepted": 10, "duplicates": 0})
        accepted += events
    worker.drain()
    wait_for(lambda: Event.objects.count() == 120, timeout=60, what="the second drain")
    stored = sorted(Event.objects.values_list("event_id", flat=True))
    assert len(set(stored)) == 120
    assert backlog_of(redis_client) == {"length": 0, "pending": 0}
