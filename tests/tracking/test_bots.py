"""One rule for bots on every capture path (recommendations/tracking/bots.py): a bot's anonymous
browsing is not recorded, and never mints a visitor; its purchases are; a logged-in user's events
are recorded under the user, without the request's throw-away visitor id. Events sent without a
request are the shop's own word and never filtered."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from recommendations import signals
from recommendations.models import Event, VisitorLink
from recommendations.tracking.bots import is_bot
from tests.testapp.models import Order

pytestmark = pytest.mark.django_db

CURL = "curl/8.5.0"
HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/126.0 Safari/537.36"
EVENTS = "/api/recommendations/events/"


@pytest.mark.parametrize(
    ("user_agent", "bot"),
    [
        ("", True),
        (CURL, True),
        (HEADLESS, True),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", True),
        ("python-requests/2.32", True),
        ("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0", False),
        ("shop-backend/1.0", False),
    ],
)
def test_what_counts_as_a_bot(user_agent, bot):
    assert is_bot(user_agent) is bot


def _bot_request(rf, user=None, user_agent=CURL):
    request = rf.post("/cart/", HTTP_USER_AGENT=user_agent)
    request.user = user or AnonymousUser()
    return request


def test_a_scripted_checkout_records_its_order_under_one_visitor_and_nothing_else(rf, items):
    """Each request of a client that gets no visitor cookie used to be a new visitor: three cart
    requests and the order left four "visitors" behind."""
    for product in items[:3]:
        signals.added_to_cart.send(
            sender=None, request=_bot_request(rf), product=product, quantity=1, unit_price=Decimal("10")
        )
    signals.removed_from_cart.send(sender=None, request=_bot_request(rf), product=items[2], quantity=1)
    signals.product_viewed.send(sender=None, request=_bot_request(rf), product=items[0])
    signals.searched.send(sender=None, request=_bot_request(rf), query="tent", result_count=3)
    lines = [(items[0], 1, Decimal("10")), (items[1], 2, Decimal("11"))]
    order_request = _bot_request(rf)
    for _ in range(2):  # a retried confirmation: still stored once
        signals.order_placed.send(sender=Order, request=order_request, order_id="B-1", lines=lines)

    assert sorted(Event.objects.values_list("kind", "product_id", "quantity")) == sorted(
        [("purchase", items[0].pk, 1), ("purchase", items[1].pk, 2)]
    )
    assert Event.objects.values("visitor_id").distinct().count() == 1
    assert Event.objects.filter(visitor_id__isnull=True).count() == 0


def test_a_logged_in_bot_is_recorded_under_the_user_without_a_visitor(rf, item):
    user = get_user_model().objects.create_user("scripted")
    signals.added_to_cart.send(sender=None, request=_bot_request(rf, user), product=item, quantity=1)
    signals.order_placed.send(
        sender=Order, request=_bot_request(rf, user), order_id="B-2", lines=[(item, 1, Decimal("5"))]
    )
    rows = list(Event.objects.values_list("kind", "user_id", "visitor_id").order_by("id"))
    assert rows == [("add_to_cart", user.pk, None), ("purchase", user.pk, None)]


def test_signals_without_a_request_are_never_filtered(item):
    user = get_user_model().objects.create_user("backend")
    signals.order_placed.send(sender=Order, order_id="S-1", lines=[(item, 1, None)], user=user)
    signals.added_to_cart.send(sender=None, product=item, visitor_id=uuid.uuid4())
    assert Event.objects.count() == 2


@pytest.mark.parametrize("user_agent", [CURL, HEADLESS, ""])
def test_the_middleware_records_no_anonymous_bot_view_and_sets_no_cookie(item, user_agent):
    response = Client(HTTP_USER_AGENT=user_agent).get(f"/items/{item.pk}/")
    assert response.status_code == 200
    assert not Event.objects.exists()
    assert "rec_vid" not in response.cookies


def test_a_logged_in_bot_s_views_and_api_events_go_to_the_user(item, django_user_model):
    user = django_user_model.objects.create_user("ann", password="pw")
    bot = Client(HTTP_USER_AGENT=CURL)
    response = bot.post("/login/", {"username": "ann", "password": "pw"})
    assert response.status_code in (200, 302)
    assert not VisitorLink.objects.exists()  # a throw-away visitor id is never linked
    bot.get(f"/items/{item.pk}/")
    response = bot.post(EVENTS, {"kind": "search", "query": "tent"}, content_type="application/json")
    assert response.json() == {"accepted": 1, "duplicates": 0}
    assert sorted(Event.objects.values_list("kind", "user_id", "visitor_id")) == [
        ("search", user.pk, None),
        ("view", user.pk, None),
    ]
    assert "rec_vid" not in bot.cookies


@pytest.mark.parametrize("user_agent", [CURL, ""])
def test_the_api_skips_an_anonymous_bot_like_the_middleware(item, user_agent):
    response = Client(HTTP_USER_AGENT=user_agent).post(
        EVENTS, {"kind": "view", "product": str(item.pk)}, content_type="application/json"
    )
    assert response.status_code == 202
    assert response.json()["skipped"] == "bot"
    assert not Event.objects.exists()
    assert "rec_vid" not in response.cookies


def test_a_bot_batch_mixing_browsing_and_a_purchase_keeps_the_purchase(rf, items, settings):
    from recommendations.schema import EventIn
    from recommendations.tracking.recorder import record_for_request

    result = record_for_request(
        _bot_request(rf),
        [
            EventIn(kind="view", product_id=str(items[0].pk)),
            EventIn(kind="purchase", product_id=str(items[0].pk), order_id="M-1", quantity=1),
        ],
        source=Event.Source.SIGNAL,
    )
    assert (result.accepted, result.skipped) == (1, "")
    assert list(Event.objects.values_list("kind", flat=True)) == ["purchase"]


def test_a_browser_is_unaffected(rf, items, browser_ua):
    request = rf.post("/cart/", **browser_ua)
    request.user = AnonymousUser()
    signals.added_to_cart.send(sender=None, request=request, product=items[0], quantity=1)
    event = Event.objects.get()
    assert event.kind == "add_to_cart" and event.visitor_id is not None
