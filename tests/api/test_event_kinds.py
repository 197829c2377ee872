"""Issue 10 item 9: the HTTP API accepts only the kinds a browser can honestly report
(API_EVENT_KINDS); purchases and cart changes come from the shop's server."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from recommendations import signals
from recommendations.models import Event

pytestmark = pytest.mark.django_db
URL = "/api/recommendations/events/"
ALLOWED = "click, impression, search, view"


def post(client, payload):
    return client.post(URL, payload, content_type="application/json")


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "purchase", "order_id": "o1", "quantity": 1000, "unit_price": "99999999.99"},
        {"kind": "add_to_cart", "quantity": 3},
        {"kind": "remove_from_cart", "quantity": 1},
        {"kind": "wishlist"},  # a custom kind: the shop adds it to the setting if browsers report it
    ],
)
def test_server_kinds_are_refused_by_default(client, item, event):
    response = post(client, {**event, "product": str(item.pk)})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "kind", "message": response.json()["errors"][0]["message"]}
    ]
    message = response.json()["errors"][0]["message"]
    assert f"'{event['kind']}'" in message and message.endswith(f"Allowed kinds: {ALLOWED}.")
    assert not Event.objects.exists()


def test_one_refused_kind_refuses_the_whole_batch_naming_its_index(client, items):
    batch = [
        {"kind": "view", "product": str(items[0].pk)},
        {"kind": "purchase", "product": str(items[1].pk), "order_id": "x", "unit_price": "5000"},
        {"kind": "click", "product": str(items[2].pk), "slot": "home"},
    ]
    response = post(client, batch)

    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "kind")]
    assert "recorded by the shop's server" in response.json()["errors"][0]["message"]
    assert not Event.objects.exists()


def test_an_unknown_kind_lists_the_accepted_ones(client, item):
    response = post(client, {"kind": " teleport ", "product": str(item.pk)})
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "index": 0,
        "field": "kind",
        "message": f"'kind' 'teleport' is not accepted by the HTTP API. Allowed kinds: {ALLOWED}.",
    }


def test_a_staff_session_is_refused_too(client, item, django_user_model):
    staff = django_user_model.objects.create_user("boss", password="pw", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = post(client, {"kind": "purchase", "product": str(item.pk), "order_id": "o1"})
    assert response.status_code == 400
    assert not Event.objects.exists()


def test_browser_kinds_are_accepted(client, items):
    batch = [
        {"kind": "view", "product": str(items[0].pk)},
        {"kind": "search", "query": "tent"},
        {"kind": "impression", "product": str(items[1].pk), "slot": "home", "position": 0},
        {"kind": "click", "product": str(items[1].pk), "slot": "home", "position": 0},
    ]
    response = post(client, batch)
    assert response.status_code == 202, response.json()
    assert sorted(Event.objects.values_list("kind", flat=True)) == ["click", "impression", "search", "view"]


def test_the_shop_may_open_a_kind(client, item, settings):
    settings.RECOMMENDATIONS_API_EVENT_KINDS = ("view", "add_to_cart")
    assert post(client, {"kind": "add_to_cart", "product": str(item.pk), "quantity": 2}).status_code == 202
    response = post(client, {"kind": "click", "product": str(item.pk), "slot": "home"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].endswith("Allowed kinds: add_to_cart, view.")
    assert list(Event.objects.values_list("kind", "quantity")) == [("add_to_cart", 2)]


def test_purchases_still_come_from_the_server(item, django_user_model):
    buyer = django_user_model.objects.create_user("ann", password="pw")
    signals.order_placed.send(sender=None, user=buyer, order_id="o1", lines=[(item, 2, item.price)])
    purchase = Event.objects.get()
    assert (purchase.kind, purchase.quantity, purchase.unit_price) == ("purchase", 2, item.price)


def test_the_schema_lists_the_accepted_kinds(client, settings):
    def kind_schema():
        schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
        body = schema["paths"]["/api/recommendations/events/"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]  # one event, a list, or wrapped
        forms = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["oneOf"]
        event = schema["components"]["schemas"][forms[0]["$ref"].rsplit("/", 1)[1]]
        kind = event["properties"]["kind"]
        if "$ref" in kind or "allOf" in kind:
            ref = kind.get("$ref") or kind["allOf"][0]["$ref"]
            kind = {**schema["components"]["schemas"][ref.rsplit("/", 1)[1]], **kind}
        return kind

    kind = kind_schema()
    assert sorted(kind["enum"]) == ["click", "impression", "search", "view"]
    settings.RECOMMENDATIONS_API_EVENT_KINDS = ("view", "add_to_cart")
    assert sorted(kind_schema()["enum"]) == ["add_to_cart", "view"]


def test_a_kind_that_does_not_exist_fails_the_checks(settings):
    settings.RECOMMENDATIONS_API_EVENT_KINDS = ("view", "veiw")
    with pytest.raises(SystemCheckError, match=r"recommendations.E014.*'veiw'"):
        call_command("check")
