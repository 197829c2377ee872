"""A scripted (curl) shopper in the demo: its browsing and cart are not recorded and mint no
visitors, its order is, under one visitor (or under the account it logged in with). It used to
leave a new "visitor" behind for every cart request of one checkout."""

import pytest
from django.test import Client
from django.urls import reverse

from recommendations.models import Event, VisitorLink
from shop_demo.shop.models import Order

from .factories import PASSWORD, UserFactory
from .test_cart_checkout import add, checkout_form

pytestmark = pytest.mark.django_db

CURL = "curl/8.5.0"


def _scripted_checkout(client, catalogue, capture):
    pan, knife, pot = catalogue["pan"], catalogue["knife"], catalogue["pot"]
    client.get(pan.get_absolute_url())
    client.get(reverse("shop:search"), {"q": "pan"})
    add(client, pan, 2)
    add(client, knife)
    add(client, pot)
    client.post(reverse("shop:cart_remove", kwargs={"pk": pot.pk}))
    with capture(execute=True):
        response = client.post(reverse("shop:checkout"), checkout_form())
    assert response.status_code == 302, response.content[:500]
    return Order.objects.get()


def test_a_guest_curl_checkout_records_its_order_under_one_visitor(
    catalogue, django_capture_on_commit_callbacks
):
    client = Client(HTTP_USER_AGENT=CURL)  # keeps its cookies (the cart is in the session)
    order = _scripted_checkout(client, catalogue, django_capture_on_commit_callbacks)
    events = Event.objects.all()
    assert sorted(events.values_list("kind", "product_id", "quantity")) == sorted(
        [("purchase", catalogue["pan"].pk, 2), ("purchase", catalogue["knife"].pk, 1)]
    )
    assert {event.order_id for event in events} == {str(order.pk)}
    assert events.values("visitor_id").distinct().count() == 1
    assert "rec_vid" not in client.cookies


def test_a_logged_in_curl_checkout_is_recorded_under_the_user_only(
    catalogue, django_capture_on_commit_callbacks
):
    user = UserFactory()
    client = Client(HTTP_USER_AGENT=CURL)
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    _scripted_checkout(client, catalogue, django_capture_on_commit_callbacks)
    assert set(Event.objects.values_list("user_id", "visitor_id")) == {(user.pk, None)}
    assert {"view", "search", "add_to_cart", "remove_from_cart", "purchase"} == set(
        Event.objects.values_list("kind", flat=True)
    )
    assert not VisitorLink.objects.exists()
