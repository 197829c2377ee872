"""Cart changes, checkout (approved and declined), accounts and order history."""

from decimal import Decimal

import pytest
from django.urls import reverse

from shop_demo.shop.models import Order, Product

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

GOOD_CARD = "4242 4242 4242 4242"


def add(client, product, quantity=1):
    return client.post(reverse("shop:cart_add", kwargs={"pk": product.pk}), {"quantity": quantity})


def checkout_form(**overrides):
    data = {
        "email": "ann@example.com",
        "full_name": "Ann Buyer",
        "address": "1 High Street, Springfield",
        "card_number": GOOD_CARD,
        "expiry": "12/30",
        "cvc": "123",
    }
    return {**data, **overrides}


def test_add_update_remove(client, catalogue):
    pan, knife = catalogue["pan"], catalogue["knife"]
    assert add(client, pan, 2).status_code == 302
    add(client, knife)
    response = client.get(reverse("shop:cart"))
    assert response.context["total"] == Decimal("39.99") * 2 + Decimal("89.00")
    assert response.context["cart_count"] == 3

    client.post(reverse("shop:cart_update", kwargs={"pk": pan.pk}), {"quantity": 1})
    assert client.get(reverse("shop:cart")).context["cart_count"] == 2

    client.post(reverse("shop:cart_remove", kwargs={"pk": knife.pk}))
    lines = client.get(reverse("shop:cart")).context["lines"]
    assert [(line.product.pk, line.quantity) for line in lines] == [(pan.pk, 1)]

    client.post(reverse("shop:cart_update", kwargs={"pk": pan.pk}), {"quantity": 0})
    assert client.get(reverse("shop:cart")).context["lines"] == []


def test_cart_changes_need_post_and_csrf(catalogue):
    from django.test import Client

    pan = catalogue["pan"]
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(reverse("shop:cart_add", kwargs={"pk": pan.pk})).status_code == 405
    assert strict.post(reverse("shop:cart_add", kwargs={"pk": pan.pk})).status_code == 403


def test_cannot_add_more_than_the_stock(client, catalogue):
    tent = catalogue["tent"]  # stock 3
    add(client, tent, 5)
    add(client, tent, 1)
    assert client.get(reverse("shop:cart")).context["cart_count"] == 3
    response = add(client, catalogue["sold_out"])
    assert response.status_code == 302
    assert client.get(reverse("shop:cart")).context["cart_count"] == 3


def test_add_redirects_back_to_a_safe_next_only(client, catalogue):
    pan = catalogue["pan"]
    url = reverse("shop:cart_add", kwargs={"pk": pan.pk})
    assert client.post(url, {"next": pan.get_absolute_url()})["Location"] == pan.get_absolute_url()
    assert client.post(url, {"next": "https://evil.example/"})["Location"] == reverse("shop:cart")


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client, catalogue):
    assert client.get(reverse("shop:checkout"))["Location"] == reverse("shop:cart")


def test_checkout_success_creates_the_order_takes_stock_and_empties_the_cart(
    client, catalogue, django_capture_on_commit_callbacks
):
    pan, knife = catalogue["pan"], catalogue["knife"]
    add(client, pan, 2)
    add(client, knife)
    assert client.get(reverse("shop:checkout")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("shop:checkout"), checkout_form())

    order = Order.objects.get()
    assert response["Location"] == order.get_absolute_url()
    assert order.total == Decimal("39.99") * 2 + Decimal("89.00")
    assert order.user is None
    assert order.email == "ann@example.com"
    assert sorted((line.product_id, line.quantity) for line in order.lines.all()) == sorted(
        [(pan.pk, 2), (knife.pk, 1)]
    )
    assert Product.objects.get(pk=pan.pk).stock == 8
    assert client.get(reverse("shop:cart")).context["cart_count"] == 0

    confirmation = client.get(order.get_absolute_url())
    assert confirmation.status_code == 200
    assert order.reference in confirmation.content.decode()


def test_declined_card_shows_an_error_and_keeps_the_cart(client, catalogue):
    add(client, catalogue["pan"])
    response = client.post(reverse("shop:checkout"), checkout_form(card_number="4000 0000 0000 0002"))
    assert response.status_code == 200
    assert "declined" in response.content.decode()
    assert not Order.objects.exists()
    assert Product.objects.get(pk=catalogue["pan"].pk).stock == 10
    assert client.get(reverse("shop:cart")).context["cart_count"] == 1


def test_invalid_checkout_form_shows_field_errors(client, catalogue):
    add(client, catalogue["pan"])
    response = client.post(reverse("shop:checkout"), checkout_form(expiry="13/99", email="nope"))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"expiry", "email"}
    assert not Order.objects.exists()


def test_stock_sold_out_between_cart_and_checkout(client, catalogue):
    tent = catalogue["tent"]
    add(client, tent, 3)
    Product.objects.filter(pk=tent.pk).update(stock=1)
    response = client.post(reverse("shop:checkout"), checkout_form())
    assert "no longer has enough stock" in response.content.decode()
    assert not Order.objects.exists()


def test_a_guest_cannot_see_someone_elses_order(client, catalogue):
    add(client, catalogue["pan"])
    client.post(reverse("shop:checkout"), checkout_form())
    order = Order.objects.get()
    from django.test import Client

    assert Client().get(order.get_absolute_url()).status_code == 404


def test_signup_logs_the_new_user_in(client, db):
    response = client.post(
        reverse("shop:signup"),
        {
            "username": "newbie",
            "email": "n@example.com",
            "password1": "S3cure-pass!",
            "password2": "S3cure-pass!",
        },
    )
    assert response.status_code == 302
    assert client.get(reverse("shop:home")).context["user"].username == "newbie"


def test_signup_page_and_password_mismatch(client, db):
    assert client.get(reverse("shop:signup")).status_code == 200
    response = client.post(
        reverse("shop:signup"), {"username": "x", "password1": "S3cure-pass!", "password2": "other-pass!"}
    )
    assert response.status_code == 200
    assert "password2" in response.context["form"].errors


def test_login_and_logout(client, db):
    user = UserFactory()
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response["Location"] == reverse("shop:home")
    assert client.get(reverse("shop:home")).context["user"] == user
    client.post(reverse("logout"))
    assert not client.get(reverse("shop:home")).context["user"].is_authenticated


def test_order_history_requires_login(client, db):
    response = client.get(reverse("shop:order_history"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_order_history_lists_only_my_orders(client, catalogue):
    me, other = UserFactory(), UserFactory()
    client.force_login(me)
    add(client, catalogue["pan"])
    client.post(reverse("shop:checkout"), checkout_form(email=me.email))
    Order.objects.create(reference="OTHER-1", user=other, email=other.email, total=Decimal("5"))

    response = client.get(reverse("shop:order_history"))
    assert response.status_code == 200
    assert [o.user for o in response.context["page_obj"]] == [me]
    assert "OTHER-1" not in response.content.decode()
