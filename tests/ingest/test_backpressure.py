"""Back-pressure on a real Redis: over ``INGEST_MAX_BACKLOG`` waiting events the HTTP API answers
429 with ``Retry-After`` and stores nothing; server-side capture (page views, order signals) goes
straight to the database, so pages and checkouts never fail and the stream stops growing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from recommendations import runtime, signals
from recommendations.ingest import backpressure, stream
from recommendations.live import visitor_state
from recommendations.models import Event
from tests.integration.processes import free_port
from tests.testapp.models import Order

pytestmark = [pytest.mark.django_db, pytest.mark.redis]
URL = "/api/recommendations/events/"


@pytest.fixture
def capped(redis_settings):
    redis_settings.RECOMMENDATIONS_INGEST_MAX_BACKLOG = 10
    redis_settings.RECOMMENDATIONS_INGEST_RETRY_AFTER_SECONDS = 7
    redis_settings.RECOMMENDATIONS_INGEST_BACKLOG_CHECK_SECONDS = 0
    return redis_settings


def post(client, payload, **extra):
    return client.post(URL, payload, content_type="application/json", **extra)


def views(items, count: int) -> list[dict]:
    return [
        {"kind": "view", "product": str(items[n % len(items)].pk), "event_id": str(uuid.uuid4())}
        for n in range(count)
    ]


def stream_length() -> int:
    return runtime.redis_client().xlen(stream.stream_key())


def test_over_the_cap_the_api_answers_429_and_stores_nothing(client, items, capped, browser_ua):
    client.get("/ping/", **browser_ua)  # the visitor's cookie
    assert post(client, views(items, 10), **browser_ua).json() == {"accepted": 10, "duplicates": 0}
    assert stream_length() == 10  # at the cap, not over it: still accepted
    assert post(client, views(items, 2), **browser_ua).status_code == 202
    assert stream_length() == 12

    refused = views(items, 5)
    response = post(client, refused, **browser_ua)

    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert response.json() == {
        "error": "backlog_full",
        "detail": "Too many events are waiting to be stored; none of this request's events were "
        "accepted. Send them again (same event_id) in 7 seconds.",
        "retry_after": 7,
    }
    assert stream_length() == 12  # nothing of the batch reached the stream...
    assert not Event.objects.exists()  # ...or the database

    assert stream.drain().inserted == 12  # a worker catches up
    response = post(client, refused, **browser_ua)
    # accepted in full: the refused request had left no trace (no event_id remembered as seen)
    assert (response.status_code, response.json()) == (202, {"accepted": 5, "duplicates": 0})
    assert stream.drain().inserted == 5
    assert Event.objects.count() == 17


def test_a_page_view_over_the_cap_is_stored_in_the_database(client, items, capped, browser_ua):
    client.get("/ping/", **browser_ua)
    assert post(client, views(items, 11), **browser_ua).status_code == 202

    page = client.get(f"/items/{items[3].pk}/", **browser_ua)

    assert page.status_code == 200
    assert stream_length() == 11  # the stream did not grow
    stored = Event.objects.get()  # the view, straight in the database
    assert (stored.kind, stored.product_id, stored.source) == ("view", items[3].pk, "middleware")
    recent = visitor_state(visitor_id=stored.visitor_id).recent_items
    assert str(items[3].pk) in [item.product_id for item in recent]  # the live state has it too
    # once drained, the stream path is taken again, and nothing was stored twice
    stream.drain()
    client.get(f"/items/{items[4].pk}/", **browser_ua)
    assert stream_length() == 1
    assert Event.objects.count() == 12


def test_an_order_over_the_cap_is_stored_once_whatever_the_retries(rf, items, capped, browser_ua):
    capped.RECOMMENDATIONS_INGEST_MAX_BACKLOG = 1
    for _ in range(2):
        runtime.redis_client().xadd(stream.stream_key(), {"e": "{}"})
    request = rf.get("/", **browser_ua)
    request.user = type("Anon", (), {"is_authenticated": False, "pk": None})()
    lines = [(items[0], 2, Decimal("10")), (items[1], 1, Decimal("11"))]

    signals.order_placed.send(sender=Order, request=request, order_id="A-1", lines=lines)
    signals.order_placed.send(sender=Order, request=request, order_id="A-1", lines=lines)  # a retry

    purchases = Event.objects.filter(kind="purchase", order_id="A-1")
    assert sorted(purchases.values_list("quantity", flat=True)) == [1, 2]
    assert stream_length() == 2


def test_the_backlog_is_read_at_most_once_per_interval(capped):
    capped.RECOMMENDATIONS_INGEST_BACKLOG_CHECK_SECONDS = 60
    assert backpressure.overloaded() is None  # reads 0 and keeps it for a minute
    client = runtime.redis_client()
    for _ in range(11):
        client.xadd(stream.stream_key(), {"e": "{}"})
    assert backpressure.overloaded() is None  # still the reading of a moment ago
    capped.RECOMMENDATIONS_INGEST_BACKLOG_CHECK_SECONDS = 0  # a settings change reads afresh
    assert backpressure.overloaded() == backpressure.Overload(backlog=11, limit=10, retry_after=7)


def test_no_cap_and_no_redis_mean_no_overload(capped, redis_url):
    runtime.redis_client().xadd(stream.stream_key(), {"e": "{}"})
    capped.RECOMMENDATIONS_INGEST_MAX_BACKLOG = None
    assert backpressure.overloaded() is None
    capped.RECOMMENDATIONS_INGEST_MAX_BACKLOG = 0
    assert backpressure.overloaded() is not None
    capped.RECOMMENDATIONS_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    assert backpressure.overloaded() is None  # an outage is the writer's to handle, not a 429
    capped.RECOMMENDATIONS_REDIS_URL = redis_url
