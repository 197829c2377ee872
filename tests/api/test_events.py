"""POST /api/recommendations/events/: validation, batches, idempotency, limits, throttling."""

import time
import uuid

import pytest
from django.core.cache import cache

from recommendations.live import product_counters
from recommendations.models import Event

pytestmark = pytest.mark.django_db
URL = "/api/recommendations/events/"


def post(client, payload, **extra):
    return client.post(URL, payload, content_type="application/json", **extra)


def test_single_event(client, item):
    response = post(client, {"kind": "view", "product": str(item.pk), "context": {"route": "/spa/p"}})
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0}
    event = Event.objects.get()
    assert (event.kind, event.product_id, event.source, event.context) == (
        "view",
        item.pk,
        "api",
        {"route": "/spa/p"},
    )


def test_batch_of_impressions_and_click(client, items):
    from recommendations.attribution import Token, sign

    batch = [
        {"kind": "impression", "product": str(p.pk), "slot": "home", "position": i}
        for i, p in enumerate(items)
    ]
    token = sign(Token("for_you", "session", 2, str(items[2].pk), "req1"))
    batch.append({"kind": "click", "product": str(items[2].pk), "token": token})
    response = post(client, batch)
    assert response.status_code == 202
    assert response.json()["accepted"] == 6
    assert Event.objects.filter(kind="impression").count() == 5
    click = Event.objects.get(kind="click")
    # Slot, position and source come from the signed token.
    assert (click.slot, click.position, click.token) == ("for_you", 2, token)
    assert click.context["source"] == "session"


def test_forged_or_misapplied_token_is_rejected(client, items):
    from recommendations.attribution import Token, sign

    token = sign(Token("for_you", "session", 0, str(items[0].pk), "req1"))
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for payload in (
        {"kind": "click", "product": str(items[0].pk), "token": forged},
        {"kind": "click", "product": str(items[1].pk), "token": token},
    ):
        response = post(client, payload)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "token"
    assert not Event.objects.exists()


def test_events_wrapper_object_is_accepted(client, item):
    response = post(client, {"events": [{"kind": "view", "product": str(item.pk)}]})
    assert response.status_code == 202


def test_malformed_item_names_index_and_field_and_stores_nothing(client, items, api_accepts_every_kind):
    batch = [
        {"kind": "view", "product": str(items[0].pk)},
        {"kind": "purchase", "product": str(items[1].pk), "quantity": 0, "order_id": "o1"},
        {"kind": "view", "product": str(items[2].pk), "colour": "red"},
    ]
    response = post(client, batch)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {k: errors[0][k] for k in ("index", "field")} == {"index": 1, "field": "quantity"}
    assert errors[1]["index"] == 2 and errors[1]["field"] == "colour"
    assert not Event.objects.exists()


def test_unknown_product_is_named(client, items):
    missing = str(uuid.uuid4())
    response = post(
        client, [{"kind": "view", "product": str(items[0].pk)}, {"kind": "view", "product": missing}]
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["index"] == 1 and error["field"] == "product" and missing in error["message"]
    assert not Event.objects.exists()


def test_product_id_of_wrong_shape(client):
    response = post(client, {"kind": "view", "product": "not-a-uuid"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "product"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "teleport", "product": None}, "kind"),
        ({"kind": "view"}, "product"),
        ({"kind": "search", "query": ""}, "query"),
        ({"kind": "click", "product": "X"}, "slot"),
        ({"kind": "view", "product": "X", "timestamp": "2024-01-01T00:00:00"}, "timestamp"),
        ({"kind": "view", "product": "X", "timestamp": "2999-01-01T00:00:00Z"}, "timestamp"),
        ({"kind": "view", "product": "X", "unit_price": "-1"}, "unit_price"),
        ({"kind": "view", "product": "X", "event_id": "x" * 65}, "event_id"),
        ({"kind": "view", "product": "X", "context": {"blob": "x" * 5000}}, "context"),
    ],
)
def test_field_errors(client, item, payload, field):
    payload = {k: (str(item.pk) if v == "X" else v) for k, v in payload.items()}
    response = post(client, payload)
    assert response.status_code == 400, response.json()
    assert field in {e["field"] for e in response.json()["errors"]}


def test_purchase_needs_order_id(client, item, api_accepts_every_kind):
    response = post(client, {"kind": "purchase", "product": str(item.pk)})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "order_id"


def test_custom_kind_from_settings(client, item, settings):
    payload = {"kind": "wishlist", "product": str(item.pk)}
    assert post(client, payload).status_code == 400  # not one the HTTP API accepts by default
    settings.RECOMMENDATIONS_API_EVENT_KINDS = ("view", "wishlist")
    response = post(client, payload)
    assert response.status_code == 202
    assert Event.objects.get().kind == "wishlist"


def test_unix_timestamp_is_accepted(client, item):
    yesterday = int(time.time()) - 86_400
    response = post(client, {"kind": "view", "product": str(item.pk), "timestamp": yesterday})
    assert response.status_code == 202
    assert Event.objects.get().created_at.timestamp() == yesterday


def test_retry_with_event_id_is_stored_once_and_counted_once(client, item, browser_ua):
    client.get("/ping/", **browser_ua)  # a browser: it has its visitor cookie
    batch = [{"kind": "view", "product": str(item.pk), "event_id": f"e{n}"} for n in range(3)]
    assert post(client, batch, **browser_ua).json() == {"accepted": 3, "duplicates": 0}
    assert post(client, batch, **browser_ua).json() == {"accepted": 0, "duplicates": 3}
    assert Event.objects.count() == 3
    assert product_counters([str(item.pk)])[str(item.pk)].views == pytest.approx(3.0, rel=1e-3)


def test_same_client_event_id_from_two_visitors_is_two_events(client, item, browser_ua):
    payload = {"kind": "view", "product": str(item.pk), "event_id": "e1"}
    client.get("/ping/", **browser_ua)  # the visitor gets its cookie
    post(client, payload, **browser_ua)
    other = client.__class__()
    other.get("/ping/", **browser_ua)
    post(other, payload, **browser_ua)
    assert Event.objects.count() == 2


def test_oversized_batch_is_413(client, item, settings):
    settings.RECOMMENDATIONS_MAX_BATCH_SIZE = 10
    response = post(client, [{"kind": "view", "product": str(item.pk)}] * 11)
    assert response.status_code == 413
    assert "at most 10" in response.json()["detail"]
    assert not Event.objects.exists()


def test_batch_of_500_is_accepted(client, item):
    response = post(client, [{"kind": "view", "product": str(item.pk)}] * 500)
    assert response.status_code == 202
    assert Event.objects.count() == 500


def test_non_json_is_415(client, item):
    response = client.post(URL, {"kind": "view"})
    assert response.status_code == 415


def test_empty_batch_is_400(client):
    assert post(client, []).status_code == 400


def test_throttled_per_visitor(client, item, settings, browser_ua):
    cache.clear()
    settings.RECOMMENDATIONS_INGEST_THROTTLE_RATE = "3/min"
    payload = {"kind": "view", "product": str(item.pk)}
    client.get("/ping/", **browser_ua)  # the visitor gets its cookie
    codes = [post(client, payload, **browser_ua).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    other = client.__class__()
    other.get("/ping/", **browser_ua)
    assert post(other, payload, **browser_ua).status_code == 202
    cache.clear()


def test_a_cookieless_client_cannot_dodge_the_throttle_with_forwarded_for(client, item, settings, browser_ua):
    """Without a cookie the throttle keys on the client address; a spoofed X-Forwarded-For
    must not make every request look like a new client (no NUM_PROXIES: the header is ignored)."""
    cache.clear()
    settings.RECOMMENDATIONS_INGEST_THROTTLE_RATE = "3/min"
    payload = {"kind": "view", "product": str(item.pk)}
    codes = [
        post(client.__class__(), payload, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}", **browser_ua).status_code
        for n in range(4)
    ]
    assert codes == [202, 202, 202, 429]
    cache.clear()


def test_logged_in_user_is_attached(client, item, django_user_model, api_accepts_every_kind):
    user = django_user_model.objects.create_user("bob", password="pw")
    client.force_login(user)
    post(client, {"kind": "add_to_cart", "product": str(item.pk), "quantity": 2})
    event = Event.objects.get()
    assert (event.user_id, event.quantity) == (user.pk, 2)
