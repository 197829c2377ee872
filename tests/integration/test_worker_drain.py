"""HTTP -> running server -> Redis stream -> real Celery worker -> PostgreSQL."""

from __future__ import annotations

import pytest

from recommendations.models import Event
from tests.integration.conftest import backlog_of
from tests.integration.httpclient import Browser
from tests.integration.processes import wait_for
from tests.integration.scenario import batches, expected_rows, session_events, stored_rows

pytestmark = [pytest.mark.redis, pytest.mark.celery, pytest.mark.usefixtures("api_accepts_every_kind")]


def test_posted_batches_reach_the_database_through_a_worker(
    live_server, catalogue, start_worker, redis_client
):
    events = session_events(catalogue, 450)
    browser = Browser(live_server.url)
    responses = [browser.post_events(batch) for batch in batches(events, 100)]

    assert [status for status, _ in responses] == [202] * 5
    assert sum(body["accepted"] for _, body in responses) == 450
    # Redis mode: the request only appended to the stream; nothing is in the database yet.
    assert Event.objects.count() == 0
    assert backlog_of(redis_client) == {"length": 450, "pending": 0}

    worker = start_worker()
    worker.drain()
    wait_for(lambda: Event.objects.count() >= 450, timeout=30, what="the worker to store 450 events")
    wait_for(lambda: backlog_of(redis_client)["length"] == 0, timeout=10, what="the stream to empty")

    assert stored_rows() == expected_rows(events, browser.visitor_id)
    assert set(Event.objects.values_list("source", flat=True)) == {"api"}
    assert backlog_of(redis_client) == {"length": 0, "pending": 0}
    assert "Task recommendations.drain_events" in worker.log()


def test_a_second_drain_of_an_empty_stream_stores_nothing_more(
    live_server, catalogue, start_worker, redis_client
):
    browser = Browser(live_server.url)
    first, second = session_events(catalogue, 30, tag="a"), session_events(catalogue, 20, tag="b")
    worker = start_worker()

    assert browser.post_events(first)[0] == 202
    worker.drain()
    wait_for(lambda: Event.objects.count() == 30, timeout=30, what="the first drain")
    assert browser.post_events(second)[0] == 202
    worker.drain()
    wait_for(lambda: Event.objects.count() >= 50, timeout=30, what="the second drain")
    worker.drain()  # nothing left: must be a no-op
    wait_for(lambda: worker.log().count("succeeded") >= 3, timeout=30, what="the third drain to finish")

    assert stored_rows() == expected_rows(first + second, browser.visitor_id)
    assert backlog_of(redis_client) == {"length": 0, "pending": 0}
