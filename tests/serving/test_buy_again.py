"""Buy again and "still thinking about it": trained from the shop's own orders, personal, private,
and gone with an erasure."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from recommendations import modelstore
from recommendations.privacy.service import erase_user_data
from recommendations.schema import EventIn
from recommendations.serving.core import recommend
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training

API = "/api/recommendations"


class Pantry:
    """Coffee is rebought every ~30 days by everyone; a chair is bought once by everyone."""

    def __init__(self) -> None:
        from tests.testapp.models import Category, Item

        consumables = Category.objects.create(name="Pantry")
        durables = Category.objects.create(name="Furniture")
        self.coffee = Item.objects.create(name="Coffee beans", category=consumables, price=Decimal(9))
        self.tea = Item.objects.create(name="Green tea", category=consumables, price=Decimal(5))
        self.chair = Item.objects.create(name="Oak chair", category=durables, price=Decimal(120))
        self.lamp = Item.objects.create(name="Desk lamp", category=durables, price=Decimal(40))
        users = get_user_model().objects
        self.others = [users.create_user(f"buyer{n}", password="x") for n in range(20)]
        self.shopper = users.create_user("regular", password="x")
        self.now = timezone.now()
        events: list[EventIn] = []
        for n, user in enumerate(self.others):
            start = 200 - n  # days ago
            events += [self.buy(user, self.coffee, start - 30 * k + (k % 3 - 1)) for k in range(5)]
            events.append(self.buy(user, self.chair, start - 10))
            events.append(self.buy(user, self.lamp, start - 20))
        # the regular: coffee every ~30 days, the last ~30 days ago; a chair once, also 30 days ago
        events += [self.buy(self.shopper, self.coffee, days) for days in (121, 90, 61, 30)]
        events.append(self.buy(self.shopper, self.chair, 30))
        # viewed tea twice, carted the lamp (bought long ago), viewed then bought nothing else
        events += [
            self.see(self.shopper, self.tea, "view", 3),
            self.see(self.shopper, self.tea, "view", 2),
            self.see(self.shopper, self.lamp, "add_to_cart", 1),
        ]
        import_events(events)

    def buy(self, user, item, days_ago: float) -> EventIn:
        when = self.now - timedelta(days=days_ago)
        return EventIn(
            kind="purchase",
            product_id=str(item.pk),
            user_id=user.pk,
            created_at=when,
            order_id=f"{user.pk}-{when.timestamp():.0f}",
            quantity=1,
            unit_price=item.price,
        )

    def see(self, user, item, kind: str, days_ago: float) -> EventIn:
        return EventIn(
            kind=kind,
            product_id=str(item.pk),
            user_id=user.pk,
            created_at=self.now - timedelta(days=days_ago),
        )


@pytest.fixture
def pantry(db) -> Pantry:
    shop = Pantry()
    training.rebuild()
    return shop


def _subject(user) -> Subject:
    return Subject(user_id=str(user.pk), visitor_id=None)


def test_a_consumable_on_its_cycle_is_due_with_its_reason(pantry):
    recs = recommend(_subject(pantry.shopper), "buy_again")
    by_id = {r.product_id: r for r in recs}
    coffee = by_id[str(pantry.coffee.pk)]
    assert coffee.reason == "You buy this about every 30 days"
    assert coffee.reason_code == "buy_again"
    assert recs[0].product_id == str(pantry.coffee.pk)


def test_a_durable_is_never_bought_again(pantry):
    # the regular bought the chair exactly when they bought coffee: only the data tells them apart
    ids = {r.product_id for r in recommend(_subject(pantry.shopper), "buy_again")}
    assert str(pantry.chair.pk) not in ids
    assert str(pantry.lamp.pk) not in ids


def test_someone_who_bought_nothing_gets_nothing(pantry):
    from django.contrib.auth import get_user_model

    newcomer = get_user_model().objects.create_user("newcomer", password="x")
    assert recommend(_subject(newcomer), "buy_again") == []
    assert recommend(None, "buy_again") == []


def test_the_repeat_model_is_stored_with_the_version(pantry):
    version = modelstore.active_version_id()
    parts = modelstore.load_parts(version, ["repeat", "users"])
    from tests.testapp.models import Item

    order = [str(pk) for pk in Item.objects.order_by("pk").values_list("pk", flat=True)]
    rate = dict(zip(order, parts["repeat"]["rate"].tolist(), strict=False))
    assert rate[str(pantry.coffee.pk)] > 0.7
    assert rate[str(pantry.chair.pk)] < 0.1
    assert parts["users"]["bought_indptr"][-1] == len(parts["users"]["bought_indices"]) > 0


def test_browsed_not_bought_weighs_the_cart_over_views(pantry):
    recs = recommend(_subject(pantry.shopper), "browsed_not_bought")
    ids = [r.product_id for r in recs]
    # the lamp was carted after its purchase: intent again; tea only viewed
    assert ids[:2] == [str(pantry.lamp.pk), str(pantry.tea.pk)]
    assert recs[0].reason == "Still thinking about it? You added it to your cart"
    assert recs[1].reason == "Still thinking about it? You looked at it"
    assert str(pantry.coffee.pk) not in ids  # bought, never browsed


def test_a_purchase_after_the_rebuild_takes_the_item_out_of_browsed(pantry):
    import_events([pantry.buy(pantry.shopper, pantry.tea, 0.01)])
    ids = [r.product_id for r in recommend(_subject(pantry.shopper), "browsed_not_bought")]
    assert str(pantry.tea.pk) not in ids
    assert str(pantry.lamp.pk) in ids


def test_api_endpoints_are_personal_and_private(client, pantry):
    client.force_login(pantry.shopper)
    for path, slot in (("buy-again", "buy_again"), ("browsed-not-bought", "browsed_not_bought")):
        response = client.get(f"{API}/{path}/", {"limit": 5})
        assert response.status_code == 200, response.content
        assert response["Cache-Control"] == "private, no-store"
        assert "Cookie" in response["Vary"]
        body = response.json()
        assert body["slot"] == slot and body["results"]
    results = client.get(f"{API}/buy-again/").json()["results"]
    assert results[0]["product_id"] == str(pantry.coffee.pk)
    assert results[0]["reason"] == "You buy this about every 30 days"
    client.logout()
    assert client.get(f"{API}/buy-again/").json()["results"] == []


def test_an_opted_out_shopper_gets_no_personal_list(client, pantry):
    client.force_login(pantry.shopper)
    assert (
        client.post(f"{API}/consent/", {"opt_out": True}, content_type="application/json").status_code < 300
    )
    assert client.get(f"{API}/buy-again/").json()["results"] == []
    assert client.get(f"{API}/browsed-not-bought/").json()["results"] == []


def test_template_tag(pantry):
    request = RequestFactory().get("/")
    request.user = pantry.shopper
    html = Template("{% load recommendations %}{% buy_again limit=3 %}").render(Context({"request": request}))
    assert "Coffee beans" in html and "You buy this about every 30 days" in html
    assert "Oak chair" not in html
    html = Template("{% load recommendations %}{% browsed_not_bought %}").render(
        Context({"request": request})
    )
    assert "Desk lamp" in html


def test_erasure_removes_it(client, pantry):
    assert recommend(_subject(pantry.shopper), "buy_again")
    erase_user_data(pantry.shopper)
    assert recommend(_subject(pantry.shopper), "buy_again") == []
    assert recommend(_subject(pantry.shopper), "browsed_not_bought") == []
    client.force_login(pantry.shopper)
    assert client.get(f"{API}/buy-again/").json()["results"] == []
    # the other shoppers' rows are intact
    assert str(pantry.coffee.pk) in {r.product_id for r in recommend(_subject(pantry.others[0]), "buy_again")}
