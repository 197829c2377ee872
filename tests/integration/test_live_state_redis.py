"""The live-state API on Redis: what a visitor just did, and the merge into the user at login."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from recommendations import runtime
from recommendations.ingest.stream import drain
from recommendations.live import product_counters, visitor_state
from recommendations.models import Event, VisitorLink
from recommendations.schema import EventRow
from recommendations.tracking.visitors import get_visitor
from tests.integration.httpclient import BROWSER_UA

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("api_accepts_every_kind")]

EVENTS_URL = "/api/recommendations/events/"


def post(client, events):
    response = client.post(EVENTS_URL, events, content_type="application/json", HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 202, response.content
    return response


def at(minutes_ago: float) -> str:
    return (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()


def after_decay(minutes_ago: float) -> float:
    """What one event ``minutes_ago`` counts now under the 24 h half-life."""
    return 2.0 ** (-minutes_ago / (24 * 60))


@pytest.fixture
def shopper(db):
    return get_user_model().objects.create_user("ann", password="pw", is_staff=True)


def test_visitor_state_and_counters_follow_the_events(client, items, redis_settings):
    a, b = str(items[0].pk), str(items[1].pk)
    response = post(
        client,
        [
            {"kind": "view", "product": a, "timestamp": at(4)},
            {"kind": "view", "product": b, "timestamp": at(3)},
            {"kind": "search", "query": "tent", "timestamp": at(2)},
            {"kind": "add_to_cart", "product": a, "timestamp": at(1)},
            {"kind": "impression", "product": b, "slot": "home", "timestamp": at(1)},
        ],
    )
    visitor = get_visitor(response.wsgi_request).visitor_id

    state = visitor_state(visitor_id=visitor)
    assert [(i.product_id, i.kind) for i in state.recent_items] == [
        (a, "add_to_cart"),
        (b, "view"),
        (a, "view"),
    ]
    assert [q for q, _ in state.recent_searches] == ["tent"]
    path = runtime.adapter().categories(items[0])
    assert state.category_interest == dict.fromkeys(path, 3.0)  # impressions are not interest
    counters = product_counters([a, b, str(uuid.uuid4())])
    assert counters[a].views == pytest.approx(after_decay(4), rel=1e-5)
    assert counters[a].carts == pytest.approx(after_decay(1), rel=1e-5)
    assert counters[b].views == pytest.approx(after_decay(3), rel=1e-5)
    assert counters[b].carts == 0.0
    assert list(counters.values())[2].views == 0.0
    assert visitor_state(visitor_id=uuid.uuid4()).is_empty


def test_login_merges_the_anonymous_visitor_into_the_user(client, items, redis_settings, shopper):
    a, b, c = (str(item.pk) for item in items[:3])
    # The user's own history from an earlier session, older than anything the visitor did.
    earlier = EventRow(
        event_id=uuid.uuid4(),
        kind="view",
        created_at=timezone.now() - timedelta(days=1),
        source="api",
        user_id=str(shopper.pk),
        product_id=c,
        categories=tuple(runtime.adapter().categories(items[2])),
    )
    runtime.live_store().apply([earlier])
    response = post(
        client,
        [
            {"kind": "view", "product": a, "timestamp": at(3), "event_id": "1"},
            {"kind": "search", "query": "stove", "timestamp": at(2), "event_id": "2"},
            {"kind": "add_to_cart", "product": b, "timestamp": at(1), "event_id": "3"},
        ],
    )
    visitor = get_visitor(response.wsgi_request).visitor_id

    login = client.post("/admin/login/?next=/admin/", {"username": "ann", "password": "pw"})
    assert login.status_code == 302

    user_state = visitor_state(user=shopper)
    assert [(i.product_id, i.kind) for i in user_state.recent_items] == [
        (b, "add_to_cart"),
        (a, "view"),
        (c, "view"),
    ]
    assert [q for q, _ in user_state.recent_searches] == ["stove"]
    path = runtime.adapter().categories(items[0])
    assert user_state.category_interest == dict.fromkeys(path, 3.0)
    assert visitor_state(visitor_id=visitor).is_empty
    assert VisitorLink.objects.get(visitor_id=visitor).user == shopper

    post(client, [{"kind": "view", "product": c, "event_id": "4"}])
    assert visitor_state(user=shopper).recent_items[0].product_id == c

    # Events that were still in the stream at login land on the user when drained.
    assert Event.objects.count() == 0
    assert drain().inserted == 4
    assert list(Event.objects.values_list("user_id", flat=True).distinct()) == [shopper.pk]
    assert set(Event.objects.values_list("visitor_id", flat=True)) == {visitor}
