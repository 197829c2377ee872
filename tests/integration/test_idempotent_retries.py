"""Retries over HTTP in Redis mode: the same batch posted twice is stored and counted once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations import runtime
from recommendations.ingest.stream import drain
from recommendations.live import product_counters, visitor_state
from recommendations.models import Event
from tests.integration.conftest import backlog_of
from tests.integration.httpclient import Browser, ServerClient
from tests.integration.processes import free_port, wait_for
from tests.integration.scenario import expected_rows, session_events, stored_rows
from tests.testapp.models import Item

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("api_accepts_every_kind")]


def test_a_batch_posted_twice_is_stored_and_counted_once(
    live_server, catalogue, redis_settings, redis_client
):
    browser = Browser(live_server.url)
    events = session_events(catalogue, 50, start=timezone.now() - timedelta(minutes=2))
    views = Counter(e["product"] for e in events if e["kind"] == "view")
    carts = Counter(e["product"] for e in events if e["kind"] == "add_to_cart")

    assert browser.post_events(events) == (202, {"accepted": 50, "duplicates": 0})
    assert browser.post_events(events) == (202, {"accepted": 0, "duplicates": 50})

    assert backlog_of(redis_client)["length"] == 50
    state = visitor_state(visitor_id=browser.visitor_id)
    product_events = [e for e in events if "product" in e]
    assert [(i.product_id, i.kind) for i in state.recent_items] == [
        (e["product"], e["kind"]) for e in reversed(product_events)
    ]
    assert [q for q, _ in state.recent_searches] == [e["query"] for e in reversed(events) if "query" in e]
    path = runtime.adapter().categories(Item.objects.get(pk=catalogue[0]))  # [root, leaf]
    assert len(path) == 2
    assert state.category_interest == dict.fromkeys(path, float(len(product_events)))
    counters = product_counters(catalogue)
    for product in catalogue:  # decay over two minutes of a 24 h half-life is < 0.1 %
        assert counters[product].views == pytest.approx(views[product], rel=1e-3)
        assert counters[product].carts == pytest.approx(carts[product], rel=1e-3)

    assert drain().inserted == 50
    assert stored_rows() == expected_rows(events, browser.visitor_id)
    # After the drain: the retry is still recognised, nothing reaches the stream.
    assert browser.post_events(events) == (202, {"accepted": 0, "duplicates": 50})
    assert backlog_of(redis_client) == {"length": 0, "pending": 0}


def test_the_database_dedups_when_redis_forgot_the_keys(live_server, catalogue, redis_settings, redis_client):
    """Idempotency keys expire (DEDUP_TTL_SECONDS) or vanish with a Redis restart; a late retry
    then reaches the stream again, and the unique event_id keeps the log exact."""
    browser = Browser(live_server.url)
    events = session_events(catalogue, 20)
    assert browser.post_events(events)[0] == 202
    assert drain().inserted == 20
    prefix = redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX
    redis_client.delete(*redis_client.keys(f"{prefix}dedup:*"))

    assert browser.post_events(events) == (202, {"accepted": 20, "duplicates": 0})
    result = drain()

    assert (result.read, result.inserted, result.dead_lettered) == (20, 0, 0)
    assert Event.objects.count() == 20
    assert stored_rows() == expected_rows(events, browser.visitor_id)


def test_a_cookieless_client_retrying_three_times_is_stored_once(
    live_server, catalogue, redis_settings, redis_client, start_worker
):
    """Issue 10 item 5: the same 50 event_ids sent 3 times by a client that keeps no cookies were
    150 rows (each request was a new visitor, and ids were scoped to it)."""
    server = ServerClient(live_server.url)
    events = session_events(catalogue, 50, tag="srv")

    answers = [server.post_events(events) for _ in range(3)]

    assert (
        answers == [(202, {"accepted": 50, "duplicates": 0})] + [(202, {"accepted": 0, "duplicates": 50})] * 2
    )
    worker = start_worker()
    worker.drain()
    wait_for(lambda: backlog_of(redis_client)["length"] == 0, timeout=30, what="the worker to drain")
    assert Event.objects.count() == 50
    # Redis forgot the keys (expiry, restart): the unique event_id in PostgreSQL still holds.
    prefix = redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX
    redis_client.delete(*redis_client.keys(f"{prefix}dedup:*"))
    assert server.post_events(events) == (202, {"accepted": 50, "duplicates": 0})
    worker.drain()
    wait_for(lambda: backlog_of(redis_client)["length"] == 0, timeout=30, what="the second drain")
    assert Event.objects.count() == 50


def test_concurrent_cookieless_retries_are_stored_once(live_server, catalogue, redis_settings, redis_client):
    events = session_events(catalogue, 50, tag="race")
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: ServerClient(live_server.url).post_events(events), range(6)))

    assert [status for status, _ in answers] == [202] * 6
    assert sum(body["accepted"] for _, body in answers) == 50
    assert drain().inserted == 50
    assert Event.objects.count() == 50


def test_cookieless_retries_with_redis_down_are_stored_once(live_server, catalogue, settings):
    """The database path (PostgreSQL's ON CONFLICT on event_id) on its own."""
    settings.RECOMMENDATIONS_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    events = session_events(catalogue, 50, tag="down")
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: ServerClient(live_server.url).post_events(events), range(3)))

    assert sorted(body["accepted"] for _, body in answers) == [0, 0, 50]
    assert Event.objects.count() == 50
