"""An ``event_id`` is idempotent on its own: a client that keeps no cookies (a shop's server
posting on a shopper's behalf) retries and is stored once (issue 10, item 5), in embedded mode
(the database's unique key, SQLite or PostgreSQL) and in Redis mode (dedup keys, then the drain)."""

from __future__ import annotations

import pytest

from recommendations import runtime
from recommendations.ingest.stream import drain
from recommendations.models import Event

pytestmark = pytest.mark.django_db
URL = "/api/recommendations/events/"
SERVER_UA = {"HTTP_USER_AGENT": "shop-backend/1.0"}


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def mode(request) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_settings")
    return request.param


def cookieless_post(client, payload):
    client.cookies.clear()  # a server-side client keeps no cookie jar
    return client.post(URL, payload, content_type="application/json", **SERVER_UA)


def stored_after(mode: str) -> int:
    if mode == "redis":
        drain()
    return Event.objects.count()


def test_cookieless_retries_of_the_same_event_ids_are_stored_once(mode, client, items):
    batch = [{"kind": "view", "product": str(items[n % 5].pk), "event_id": f"srv-{n}"} for n in range(50)]
    answers = [cookieless_post(client, batch).json() for _ in range(3)]

    assert answers == [
        {"accepted": 50, "duplicates": 0},
        {"accepted": 0, "duplicates": 50},
        {"accepted": 0, "duplicates": 50},
    ]
    assert stored_after(mode) == 50


def test_cookieless_retry_after_redis_forgot_the_key_is_stored_once(client, items, redis_settings):
    """Dedup keys expire (or vanish with a Redis restart); the database's unique key still holds."""
    batch = [{"kind": "view", "product": str(items[0].pk), "event_id": f"srv-{n}"} for n in range(10)]
    assert cookieless_post(client, batch).json()["accepted"] == 10
    assert drain().inserted == 10
    runtime.live_store().clear()

    assert cookieless_post(client, batch).json() == {"accepted": 10, "duplicates": 0}  # Redis forgot
    result = drain()

    assert (result.read, result.inserted) == (10, 0)
    assert Event.objects.count() == 10


def test_cookieless_retries_interleaved_with_new_events(mode, client, items):
    first = [{"kind": "view", "product": str(items[0].pk), "event_id": f"a-{n}"} for n in range(5)]
    second = [{"kind": "view", "product": str(items[1].pk), "event_id": f"b-{n}"} for n in range(5)]
    assert cookieless_post(client, first).json() == {"accepted": 5, "duplicates": 0}
    assert cookieless_post(client, first[2:] + second).json() == {"accepted": 5, "duplicates": 3}
    assert stored_after(mode) == 10


def test_a_logged_in_client_without_the_visitor_cookie_is_scoped_to_its_user(
    mode, client, item, django_user_model
):
    user = django_user_model.objects.create_user("srv", password="pw")
    payload = {"kind": "view", "product": str(item.pk), "event_id": "u-1"}
    client.force_login(user)
    for _ in range(3):
        client.cookies.pop("rec_vid", None)  # the session stays, the visitor cookie does not
        assert client.post(URL, payload, content_type="application/json", **SERVER_UA).status_code == 202
    assert stored_after(mode) == 1
    assert Event.objects.get().user_id == user.pk


def test_visitors_with_cookies_keep_their_own_scope(mode, client, item, browser_ua):
    """Two browsers may pick the same id ("b1-0" in the README): each is stored."""
    payload = {"kind": "view", "product": str(item.pk), "event_id": "b1-0"}
    for _ in range(2):
        browser = client.__class__()
        browser.get("/ping/", **browser_ua)
        for _ in range(2):  # and each browser's retry is stored once
            browser.post(URL, payload, content_type="application/json", **browser_ua)
    assert stored_after(mode) == 2
