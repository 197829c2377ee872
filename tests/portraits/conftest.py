"""Fixtures for portraits, admin and analytics: a shop with two taste groups and named shoppers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone

from recommendations.schema import EventIn
from recommendations.serving import bundle as bundles
from recommendations.serving import cold
from recommendations.tracking.bulk import import_events
from tests.serving.conftest import Shop


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    settings.RECOMMENDATIONS_SERVING_RAISE_ERRORS = True
    cache.clear()
    bundles.clear()
    cold.clear()
    yield
    cache.clear()
    bundles.clear()
    cold.clear()


@pytest.fixture
def shop(db) -> Shop:
    return Shop()


@pytest.fixture
def camper(db, shop, django_user_model):
    """A shopper who searched, viewed and bought camping items on a phone over two sessions."""
    user = django_user_model.objects.create_user("camper", password="pw")
    now = timezone.now()
    first, second = now - timedelta(days=3), now - timedelta(hours=2)
    tent, stove, pan = shop.a[0], shop.a[1], shop.b[0]
    events = [
        EventIn(kind="search", query="Tent", user_id=user.pk, created_at=first),
        EventIn(
            kind="view", product_id=str(tent.pk), user_id=user.pk, created_at=first + timedelta(minutes=1)
        ),
        EventIn(
            kind="view", product_id=str(pan.pk), user_id=user.pk, created_at=first + timedelta(minutes=2)
        ),
        EventIn(kind="view", product_id=str(stove.pk), user_id=user.pk, created_at=second),
        EventIn(
            kind="add_to_cart",
            product_id=str(tent.pk),
            user_id=user.pk,
            created_at=second + timedelta(minutes=1),
        ),
        EventIn(
            kind="purchase",
            product_id=str(tent.pk),
            user_id=user.pk,
            order_id="o1",
            quantity=2,
            unit_price=Decimal("50.00"),
            created_at=second + timedelta(minutes=3),
        ),
        EventIn(
            kind="purchase",
            product_id=str(stove.pk),
            user_id=user.pk,
            order_id="o1",
            quantity=1,
            unit_price=Decimal("51.00"),
            created_at=second + timedelta(minutes=3),
        ),
    ]
    import_events(events)
    return user


def grant(user, *codenames: str) -> None:
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="recommendations", codename=codename)
        )


@pytest.fixture
def analyst(db, django_user_model):
    """Staff with the dedicated portrait permissions."""
    user = django_user_model.objects.create_user("analyst", password="pw", is_staff=True)
    grant(user, "view_portrait", "change_portrait", "delete_portrait")
    return user


@pytest.fixture
def plain_staff(db, django_user_model):
    """Staff without any recommendations permission."""
    return django_user_model.objects.create_user("staff", password="pw", is_staff=True)


def anonymous_views(shop: Shop, items, when) -> uuid.UUID:
    visitor = uuid.uuid4()
    import_events(
        [
            EventIn(
                kind="view", product_id=str(i.pk), visitor_id=visitor, created_at=when + timedelta(seconds=n)
            )
            for n, i in enumerate(items)
        ]
    )
    return visitor
