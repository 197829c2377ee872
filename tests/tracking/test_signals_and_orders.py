"""The public inbound signals and the optional order-model hook."""

import logging
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from recommendations import signals
from recommendations.models import Event
from tests.testapp.models import Order, OrderLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_with_visitor(rf, browser_ua):
    request = rf.get("/", **browser_ua)
    request.user = type("Anon", (), {"is_authenticated": False, "pk": None})()
    return request


def test_cart_signals_record_events(request_with_visitor, item):
    signals.added_to_cart.send(
        sender=None, request=request_with_visitor, product=item, quantity=2, unit_price=Decimal("99.00")
    )
    signals.removed_from_cart.send(sender=None, request=request_with_visitor, product=item, quantity=1)
    added, removed = Event.objects.order_by("id")
    assert (added.kind, added.quantity, added.unit_price) == ("add_to_cart", 2, Decimal("99.00"))
    assert (removed.kind, removed.quantity) == ("remove_from_cart", 1)
    assert added.visitor_id == removed.visitor_id
    assert added.source == "signal"


def test_order_placed_records_one_purchase_per_line_idempotently(request_with_visitor, items):
    lines = [(items[0], 1, Decimal("10")), (items[1], 3, Decimal("11"))]
    for _ in range(2):  # a retried webhook
        signals.order_placed.send(sender=Order, request=request_with_visitor, order_id="A-17", lines=lines)
    purchases = Event.objects.filter(kind="purchase").order_by("quantity")
    assert [(p.product_id, p.quantity, p.order_id) for p in purchases] == [
        (items[0].pk, 1, "A-17"),
        (items[1].pk, 3, "A-17"),
    ]


def test_signal_without_request_needs_an_owner(item):
    with pytest.raises(ValueError, match="pass user= or visitor_id="):
        signals.product_viewed.send(sender=None, request=None, product=item)


def test_signal_without_request_for_a_user(item):
    user = get_user_model().objects.create_user("cy")
    signals.order_placed.send(sender=Order, request=None, order_id="W1", lines=[(item, 1, None)], user=user)
    assert Event.objects.get().user == user


def test_signal_with_explicit_visitor_id(item):
    visitor = uuid.uuid4()
    signals.searched.send(sender=None, request=None, query="tent", result_count=4, visitor_id=visitor)
    event = Event.objects.get()
    assert (event.visitor_id, event.query, event.result_count) == (visitor, "tent", 4)


def test_unknown_product_in_a_signal_is_logged_not_raised(request_with_visitor, caplog):
    with caplog.at_level(logging.ERROR, logger="recommendations"):
        signals.added_to_cart.send(sender=None, request=request_with_visitor, product=uuid.uuid4())
    assert "Unknown product" in caplog.text
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_order_model_hook_records_purchases_after_commit(settings, items):
    from django.db import transaction

    from recommendations.tracking import receivers

    settings.RECOMMENDATIONS_ORDER_MODEL = "testapp.Order"
    receivers.connect()
    try:
        user = get_user_model().objects.create_user("dee")
        with transaction.atomic():
            order = Order.objects.create(user=user)
            OrderLine.objects.create(order=order, product=items[0], quantity=2, unit_price=Decimal("5"))
            OrderLine.objects.create(order=order, product=items[3], quantity=1, unit_price=Decimal("7"))
            assert not Event.objects.exists()  # nothing before commit: the lines may not exist yet
        events = Event.objects.filter(kind="purchase").order_by("unit_price")
        assert [(e.product_id, e.quantity, e.order_id, e.source) for e in events] == [
            (items[0].pk, 2, str(order.pk), "order_hook"),
            (items[3].pk, 1, str(order.pk), "order_hook"),
        ]
    finally:
        from django.db.models.signals import post_save

        post_save.disconnect(sender=Order, dispatch_uid="recommendations.order_saved")
