"""The middleware records product views and searches, and nothing else."""

import pytest

from recommendations.live import visitor_state
from recommendations.models import Event

pytestmark = pytest.mark.django_db


def test_product_view_is_recorded_with_visitor_cookie(client, item, browser_ua):
    response = client.get(f"/items/{item.pk}/", **browser_ua)
    assert response.status_code == 200
    event = Event.objects.get()
    assert event.kind == "view"
    assert event.product_id == item.pk
    assert event.source == "middleware"
    assert event.user_id is None
    cookie = response.cookies["rec_vid"]
    assert cookie["httponly"]
    # The cookie is signed: its value is not just the bare uuid.
    assert str(event.visitor_id) in cookie.value and cookie.value != str(event.visitor_id)


def test_same_visitor_keeps_its_id_across_requests(client, items, browser_ua):
    for product in items[:3]:
        client.get(f"/items/{product.pk}/", **browser_ua)
    assert Event.objects.values("visitor_id").distinct().count() == 1


def test_tampered_cookie_starts_a_new_visitor(client, item, browser_ua):
    client.get(f"/items/{item.pk}/", **browser_ua)
    first = Event.objects.get().visitor_id
    client.cookies["rec_vid"] = f"{first}:forged"
    client.get(f"/items/{item.pk}/", **browser_ua)
    assert Event.objects.exclude(visitor_id=first).count() == 1


def test_search_is_recorded_with_result_count(client, browser_ua):
    client.get("/search/", {"q": "  green tent "}, **browser_ua)
    event = Event.objects.get()
    assert (event.kind, event.query, event.result_count) == ("search", "green tent", 3)


def test_empty_search_is_not_recorded(client, browser_ua):
    client.get("/search/", {"q": "  "}, **browser_ua)
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("method", "path_suffix", "extra"),
    [
        ("head", "", {}),
        ("get", "", {"HTTP_USER_AGENT": "Googlebot/2.1 (+http://www.google.com/bot.html)"}),
        ("get", "", {"HTTP_USER_AGENT": ""}),
        ("get", "", {"HTTP_SEC_PURPOSE": "prefetch;prerender"}),
        ("get", "", {"HTTP_PURPOSE": "prefetch"}),
    ],
)
def test_bots_prefetch_and_head_are_ignored(client, item, browser_ua, method, path_suffix, extra):
    headers = {**browser_ua, **extra}
    getattr(client, method)(f"/items/{item.pk}/{path_suffix}", **headers)
    assert not Event.objects.exists()


def test_error_responses_are_ignored(client, item, browser_ua):
    response = client.get(f"/broken/{item.pk}/", **browser_ua)
    assert response.status_code == 500
    assert not Event.objects.exists()


def test_unknown_product_404_is_ignored(client, browser_ua):
    response = client.get("/items/00000000-0000-0000-0000-000000000000/", **browser_ua)
    assert response.status_code == 404
    assert not Event.objects.exists()


def test_untracked_urls_are_ignored(client, browser_ua):
    client.get("/ping/", **browser_ua)
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_async_view_is_recorded(item, browser_ua):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    client = AsyncClient()
    response = async_to_sync(client.get)(
        f"/async-items/{item.pk}/", headers={"User-Agent": browser_ua["HTTP_USER_AGENT"]}
    )
    assert response.status_code == 200
    assert "rec_vid" in response.cookies
    assert Event.objects.filter(kind="view", product_id=item.pk).count() == 1


def test_view_updates_live_state(client, items, browser_ua, category):
    for product in items[:3]:
        client.get(f"/items/{product.pk}/", **browser_ua)
    visitor_id = Event.objects.first().visitor_id
    state = visitor_state(visitor_id=visitor_id)
    assert [i.product_id for i in state.recent_items] == [str(p.pk) for p in reversed(items[:3])]
    assert state.category_interest == {str(category.parent_id): 3.0, str(category.pk): 3.0}


def test_raw_ip_is_never_stored(client, item, browser_ua):
    client.get(f"/items/{item.pk}/", REMOTE_ADDR="203.0.113.77", **browser_ua)
    assert Event.objects.get().ip == "203.0.113.0"


def test_ip_hash_mode(client, item, browser_ua, settings):
    settings.RECOMMENDATIONS_IP_MODE = "hash"
    client.get(f"/items/{item.pk}/", REMOTE_ADDR="203.0.113.77", **browser_ua)
    stored = Event.objects.get().ip
    assert "203.0.113" not in stored and len(stored) == 32


def test_kill_switch_records_nothing(client, item, browser_ua, settings):
    settings.RECOMMENDATIONS_ENABLED = False
    client.get(f"/items/{item.pk}/", **browser_ua)
    assert not Event.objects.exists()


def test_device_is_classified(client, item):
    client.get(f"/items/{item.pk}/", HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148")
    assert Event.objects.get().device == "mobile"
