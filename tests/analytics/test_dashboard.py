"""Dashboard numbers against a scenario computed by hand; the dashboard page and its permission."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from recommendations.analytics import dashboard as analytics
from recommendations.schema import EventIn
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training
from tests.portraits.conftest import grant

H = timedelta(hours=1)


@pytest.fixture
def scenario(db, shop, django_user_model):
    """Impressions, clicks and purchases of three shoppers (see the expected numbers below)."""
    a = django_user_model.objects.create_user("a")
    b = django_user_model.objects.create_user("b")
    c = uuid.uuid4()  # anonymous
    p = [str(item.pk) for item in shop.a[:5]]
    t0 = timezone.now() - timedelta(days=2)

    def ev(kind, product, when, slot="", source="", who=None, **extra):
        owner = {"visitor_id": who} if isinstance(who, uuid.UUID) else {"user_id": who.pk}
        context = {"source": source} if source else {}
        return EventIn(
            kind=kind, product_id=product, created_at=when, slot=slot, context=context, **owner, **extra
        )

    events = [
        # A: 4 for_you/itemknn impressions, clicks p0, buys 2 x p0 at 10 two hours later -> conversion
        *[ev("impression", p[i], t0, "for_you", "itemknn", a) for i in range(4)],
        ev("click", p[0], t0 + H, "for_you", "itemknn", a),
        ev("purchase", p[0], t0 + 3 * H, who=a, order_id="a1", quantity=2, unit_price=Decimal("10")),
        # B: 2 similar/content + 2 for_you/itemknn impressions
        *[ev("impression", p[i], t0, "similar", "content", b) for i in range(2)],
        *[ev("impression", p[i], t0, "for_you", "itemknn", b) for i in range(2, 4)],
        # clicks p1 (similar/content) but buys it 30 h later: outside the 24 h window
        ev("click", p[1], t0, "similar", "content", b),
        ev("purchase", p[1], t0 + 30 * H, who=b, order_id="b1", unit_price=Decimal("99")),
        # clicks p2 (for_you/itemknn) and buys another product: no conversion
        ev("click", p[2], t0 + 2 * H, "for_you", "itemknn", b),
        ev("purchase", p[3], t0 + 3 * H, who=b, order_id="b2", unit_price=Decimal("7")),
        # also buys p0, which only A clicked: not A's conversion
        ev("purchase", p[0], t0 + 2 * H, who=b, order_id="b3", unit_price=Decimal("10")),
        # C (anonymous): 2 for_you/als impressions, clicks p4 from als then from itemknn, buys p4
        *[ev("impression", p[i], t0, "for_you", "als", c) for i in (3, 4)],
        ev("click", p[4], t0, "for_you", "als", c),
        ev("click", p[4], t0 + H, "for_you", "itemknn", c),
        ev("purchase", p[4], t0 + 2 * H, who=c, order_id="c1", unit_price=Decimal("15")),
    ]
    import_events(events)
    return t0


def _table(rows):
    return {(s.slot, s.source): (s.impressions, s.clicks, s.conversions, s.revenue) for s in rows}


def test_slot_performance_matches_the_hand_computed_scenario(scenario):
    perf = analytics.slot_performance(scenario - H, timezone.now(), window_hours=24)
    assert _table(perf.by_slot_source) == {
        ("for_you", "itemknn"): (6, 3, 2, Decimal("35")),  # A's p0 (2 x 10) + C's p4 (last click)
        ("for_you", "als"): (2, 1, 0, Decimal("0")),
        ("similar", "content"): (2, 1, 0, Decimal("0")),
    }
    assert _table(perf.by_slot) == {
        ("for_you", ""): (8, 4, 2, Decimal("35")),
        ("similar", ""): (2, 1, 0, Decimal("0")),
    }
    assert _table(perf.by_source) == {
        ("", "itemknn"): (6, 3, 2, Decimal("35")),
        ("", "als"): (2, 1, 0, Decimal("0")),
        ("", "content"): (2, 1, 0, Decimal("0")),
    }
    itemknn = next(s for s in perf.by_source if s.source == "itemknn")
    assert itemknn.ctr == pytest.approx(0.5)
    assert itemknn.conversion_rate == pytest.approx(2 / 3)


def test_a_wider_window_converts_the_late_purchase(scenario):
    perf = analytics.slot_performance(scenario - H, timezone.now(), window_hours=48)
    assert _table(perf.by_slot_source)[("similar", "content")] == (2, 1, 1, Decimal("99"))


def test_attribute_credits_the_latest_click_within_the_window():
    t = timezone.now()
    clicks = [
        ("u:1", "p", t, "s", "old"),
        ("u:1", "p", t + H, "s", "new"),
        ("u:1", "p", t + 5 * H, "s", "later"),
    ]
    purchases = [("u:1", "p", t + 2 * H, Decimal("3")), ("u:2", "p", t + 2 * H, Decimal("9"))]
    assert analytics.attribute(clicks, purchases, timedelta(hours=24)) == {("s", "new"): (1, Decimal("3"))}
    assert analytics.attribute(clicks, purchases, timedelta(minutes=30)) == {}


def test_events_per_day_by_kind(scenario):
    day = scenario.date()
    counts = analytics.events_per_day(day - timedelta(days=1), timezone.now().date())
    totals = {kind: sum(per_day.values()) for kind, per_day in counts.items()}
    assert totals == {"impression": 10, "click": 5, "purchase": 5}
    late = (scenario + 30 * H).date()
    same_day = sum(1 for h in (3, 3, 2, 2) if (scenario + h * H).date() == late)
    assert counts["purchase"][late] == 1 + same_day


def test_dashboard_page_shows_the_numbers_to_permitted_staff(client, scenario, plain_staff, shop):
    shop.history()
    training.rebuild()
    url = reverse("admin:recommendations_analyticsdashboard_changelist")
    client.force_login(plain_staff)
    assert client.get(url).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert url not in index
    grant(plain_staff, "view_analyticsdashboard")
    index = client.get(reverse("admin:index")).content.decode()
    assert url in index  # linked from the admin index
    response = client.get(url, {"days": 7})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="chart-events"' in html
    assert html.count('class="series"') == len(response.context["totals"])
    row = re.search(r'<table class="rec-table" id="perf-source">.*?</table>', html, re.S).group(0)
    itemknn = re.search(r'data-source="itemknn">(.*?)</tr>', row, re.S).group(1)
    assert "50.0%" in itemknn
    assert "66.7%" in itemknn
    assert [m["kind"] for m in response.context["models"]] == ["main"]
    assert 'data-kind="main"' in html
    assert response.context["top_products"][0]["score"] >= response.context["top_products"][-1]["score"]


def test_a_banner_click_without_a_product_never_breaks_the_dashboard(
    client, plain_staff, shop, rf, browser_ua
):
    """Issue 10 item 12: one click on a banner ad (no product) made the dashboard 500 for 30 days
    (``product_id__in=["None"]``). The click counts for its slot; conversions still work."""
    from django.contrib.auth.models import AnonymousUser

    from recommendations.ads.events import record_ad_event
    from recommendations.tracking.visitors import get_visitor

    request = rf.get("/", **browser_ua)
    request.user = AnonymousUser()
    visitor = get_visitor(request)
    for kind in ("impression", "click"):
        record_ad_event(
            kind, visitor, campaign_id=7, impression_id="i1", slot="ads:top", position=0, product_id=None
        )
    # a product click in the same period, so the purchase lookup runs with both kinds of click
    import_events(
        [
            EventIn(
                kind="click", product_id=str(shop.a[0].pk), slot="for_you", visitor_id=visitor.visitor_id
            ),
            EventIn(
                kind="purchase", product_id=str(shop.a[0].pk), order_id="o1", visitor_id=visitor.visitor_id
            ),
        ]
    )
    performance = analytics.slot_performance(timezone.now() - timedelta(days=1), timezone.now() + H)
    by_slot = {s.slot: s for s in performance.by_slot}
    assert (by_slot["ads:top"].impressions, by_slot["ads:top"].clicks, by_slot["ads:top"].conversions) == (
        1,
        1,
        0,
    )
    assert by_slot["for_you"].conversions == 1

    grant(plain_staff, "view_analyticsdashboard")
    client.force_login(plain_staff)
    response = client.get(reverse("admin:recommendations_analyticsdashboard_changelist"))
    assert response.status_code == 200
    assert "ads:top" in response.content.decode()
