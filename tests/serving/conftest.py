"""Fixtures for the serving-core tests: two disjoint taste groups in a UUID-keyed catalogue."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from recommendations.schema import EventIn
from recommendations.serving import bundle as bundles
from recommendations.serving import cold
from recommendations.tracking.bulk import import_events


@pytest.fixture(autouse=True)
def _fresh_models(settings):
    settings.RECOMMENDATIONS_SERVING_RAISE_ERRORS = True
    bundles.clear()
    cold.clear()
    yield
    bundles.clear()
    cold.clear()


class Shop:
    """Group "a" shoppers only touch camping items, group "b" only kitchen items."""

    def __init__(self) -> None:
        from tests.testapp.models import Category, Item

        self.outdoor = Category.objects.create(name="Outdoor")
        self.camping = Category.objects.create(name="Camping", parent=self.outdoor)
        self.kitchen = Category.objects.create(name="Kitchen")
        self.a = [
            Item.objects.create(
                name=f"Tent {n}", blurb="tent camping", category=self.camping, price=Decimal(50 + n)
            )
            for n in range(8)
        ]
        self.b = [
            Item.objects.create(
                name=f"Pan {n}", blurb="pan cooking", category=self.kitchen, price=Decimal(20 + n)
            )
            for n in range(8)
        ]
        self.start = timezone.now() - timedelta(days=2)
        self._clock = 0

    def ids(self, group: list) -> set[str]:
        return {str(i.pk) for i in group}

    def event(self, kind: str, item, visitor: uuid.UUID, **extra) -> EventIn:
        self._clock += 1
        return EventIn(
            kind=kind,
            product_id=str(item.pk),
            visitor_id=visitor,
            created_at=self.start + timedelta(seconds=30 * self._clock),
            **extra,
        )

    def history(self, visitors_per_group: int = 12) -> list[uuid.UUID]:
        events, visitors = [], []
        for group in (self.a, self.b):
            for v in range(visitors_per_group):
                visitor = uuid.uuid4()
                visitors.append(visitor)
                # each shopper views a sliding window of 4 items of their group, buys two of them
                window = [group[(v + k) % len(group)] for k in range(4)]
                events += [self.event("view", item, visitor) for item in window]
                events.append(self.event("add_to_cart", window[0], visitor))
                order = f"o-{visitor.hex[:8]}"
                events += [self.event("purchase", item, visitor, order_id=order) for item in window[:2]]
        import_events(events)
        return visitors


@pytest.fixture
def shop(db) -> Shop:
    return Shop()
