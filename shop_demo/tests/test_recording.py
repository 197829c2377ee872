"""Shopping in the demo shop produces the recommendations app's events, as an integrator expects."""

from decimal import Decimal

import pytest
from django.urls import reverse

from recommendations.models import Event
from shop_demo.shop.models import Order

from .factories import UserFactory
from .test_cart_checkout import add, checkout_form

pytestmark = pytest.mark.django_db


def events(kind):
    return list(Event.objects.filter(kind=kind).order_by("id"))


def test_product_view_and_search_are_recorded_by_the_middleware(client, catalogue):
    pan = catalogue["pan"]
    client.get(pan.get_absolute_url())
    client.get(reverse("shop:search"), {"q": "acme"})
    client.get(reverse("shop:product_list"))  # not a tracked URL name

    [view] = events("view")
    assert str(view.product_id) == str(pan.pk)
    assert view.visitor_id is not None
    assert view.user_id is None
    [search] = events("search")
    assert search.query == "acme"
    assert search.result_count == 2  # handed to the middleware by the search view
    assert search.visitor_id == view.visitor_id
    assert Event.objects.count() == 2


def test_failed_pages_are_not_recorded(client, catalogue):
    client.get(catalogue["inactive"].get_absolute_url())  # 404
    assert not Event.objects.exists()


def test_cart_signals_are_recorded(client, catalogue):
    pan = catalogue["pan"]
    add(client, pan, 2)
    client.post(reverse("shop:cart_update", kwargs={"pk": pan.pk}), {"quantity": 1})

    [added] = events("add_to_cart")
    assert str(added.product_id) == str(pan.pk)
    assert added.quantity == 2
    assert added.unit_price == Decimal("39.99")
    [removed] = events("remove_from_cart")
    assert str(removed.product_id) == str(pan.pk)
    assert removed.quantity == 1


def test_adding_beyond_stock_records_only_what_was_added(client, catalogue):
    add(client, catalogue["tent"], 5)  # stock 3
    add(client, catalogue["tent"], 1)
    assert [e.quantity for e in events("add_to_cart")] == [3]


def test_checkout_records_one_purchase_per_line_for_the_logged_in_user(
    client, catalogue, django_capture_on_commit_callbacks
):
    user = UserFactory()
    client.force_login(user)
    pan, knife = catalogue["pan"], catalogue["knife"]
    client.get(pan.get_absolute_url())
    add(client, pan, 2)
    add(client, knife)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("shop:checkout"), checkout_form())

    order = Order.objects.get()
    purchases = events("purchase")
    assert sorted((str(e.product_id), e.quantity) for e in purchases) == sorted(
        [(str(pan.pk), 2), (str(knife.pk), 1)]
    )
    assert {e.order_id for e in purchases} == {str(order.pk)}
    assert {e.user_id for e in Event.objects.all()} == {user.pk}


def test_a_declined_payment_records_no_purchase(client, catalogue, django_capture_on_commit_callbacks):
    add(client, catalogue["pan"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("shop:checkout"), checkout_form(card_number="4000 0000 0000 0002"))
    assert not events("purchase")


def test_anonymous_history_follows_the_visitor(client, catalogue, django_capture_on_commit_callbacks):
    client.get(catalogue["knife"].get_absolute_url())
    add(client, catalogue["knife"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("shop:checkout"), checkout_form())
    rows = list(Event.objects.all())
    assert {e.kind for e in rows} == {"view", "add_to_cart", "purchase"}
    assert len({e.visitor_id for e in rows}) == 1
    assert rows[0].visitor_id is not None
    assert all(e.user_id is None for e in rows)
