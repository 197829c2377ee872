"""The "Buy again" page: a signed-in shopper's due consumables and what they browsed without
buying, each with its reason, linked from the header."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from recommendations.schema import EventIn
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_model_from_another_test():
    """The trained bundle is cached per process: a test's model must not serve the next one."""
    from recommendations.serving import bundle, cold

    bundle.clear()
    cold.clear()
    yield
    bundle.clear()
    cold.clear()


def _buy(user, product, days_ago: float) -> EventIn:
    when = timezone.now() - timedelta(days=days_ago)
    return EventIn(
        kind="purchase",
        product_id=str(product.pk),
        user_id=user.pk,
        created_at=when,
        order_id=f"{user.pk}-{when.timestamp():.0f}",
        quantity=1,
        unit_price=product.price,
    )


@pytest.fixture
def regular(catalogue):
    """Everyone rebuys the stock pot's refills... here the pot stands for a consumable bought every
    30 days; the tent is bought once. The regular bought both, and looked at the frying pan twice."""
    users = get_user_model().objects
    pot, tent, pan = catalogue["pot"], catalogue["tent"], catalogue["pan"]
    others = [users.create_user(f"buyer{n}", password=None) for n in range(15)]
    shopper = users.create_user("regular", password=None)
    events: list[EventIn] = []
    for n, user in enumerate(others):
        events += [_buy(user, pot, 200 - n - 30 * k) for k in range(5)]
        events.append(_buy(user, tent, 150 - n))
    events += [_buy(shopper, pot, days) for days in (121, 90, 61, 30)]
    events.append(_buy(shopper, tent, 30))
    now = timezone.now()
    events += [
        EventIn(kind="view", product_id=str(pan.pk), user_id=shopper.pk, created_at=now - timedelta(days=d))
        for d in (3, 2)
    ]
    import_events(events)
    training.rebuild()
    return shopper


def test_the_page_lists_what_is_due_and_what_was_browsed_with_reasons(client, catalogue, regular):
    client.force_login(regular)
    response = client.get(reverse("shop:buy_again"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-rec-slot="buy_again"' in html and 'data-rec-slot="browsed_not_bought"' in html
    assert catalogue["pot"].name in html
    assert "You buy this about every 30 days" in html
    assert catalogue["pan"].name in html
    assert "Still thinking about it? You looked at it" in html
    # bought once by everyone: the shop's orders say the tent is not bought again
    assert catalogue["tent"].name not in html
    assert f'href="{reverse("shop:buy_again")}"' in html  # linked from the header


def test_a_shopper_with_nothing_to_buy_again_is_told_so(client, catalogue):
    shopper = get_user_model().objects.create_user("new", password=None)
    client.force_login(shopper)
    html = client.get(reverse("shop:buy_again")).content.decode()
    assert "Nothing to buy again yet" in html


def test_the_page_needs_a_signed_in_shopper(client, db):
    response = client.get(reverse("shop:buy_again"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    assert reverse("shop:buy_again") not in client.get(reverse("shop:home")).content.decode()
