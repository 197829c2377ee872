"""How the admin writes numbers and draws the events chart (issue 10, item 20): every kind on its
own scale (a handful of purchases is not a flat line beside thousands of views), names inside the
chart, money with its currency, ordinals ("42nd"), brand names rather than slugs."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse

from recommendations import portraits as service
from recommendations.admin import charts
from recommendations.catalogue.money import money
from recommendations.catalogue.products import ProductAdapter
from recommendations.templatetags.recommendations_format import ordinal_of, percentile
from tests.portraits.conftest import grant


def _peaks(svg: str) -> dict[str, float]:
    """Height (user units) of each panel's highest point above the panel's baseline, by kind."""
    peaks = {}
    for kind, base, points in re.findall(
        r'data-kind="([^"]+)".*?<line x1="[^"]+" y1="([^"]+)".*?<polyline class="series" points="([^"]+)"',
        svg,
        re.S,
    ):
        peaks[kind] = float(base) - min(float(p.split(",")[1]) for p in points.split())
    return peaks


def test_each_kind_gets_its_own_scale():
    views = [4000, 5200, 4800, 6100, 5900, 4700, 5000]
    purchases = [3, 9, 5, 12, 4, 7, 6]
    svg = str(
        charts.panels(
            "chart-events", {"view": views, "purchase": purchases}, title="t", labels=list("abcdefg")
        )
    )
    peaks = _peaks(svg)
    assert set(peaks) == {"view", "purchase"}
    # both series reach the top of their panel, not 0.2% of a shared axis
    assert peaks["purchase"] == pytest.approx(peaks["view"]) and peaks["view"] > 30
    assert "max 12/day" in svg and "max 6,100/day" in svg
    assert svg.index('data-kind="view"') < svg.index('data-kind="purchase"')  # busiest first


def test_dashboard_chart_draws_every_kind_visibly(client, plain_staff, scenario):
    grant(plain_staff, "view_analyticsdashboard")
    client.force_login(plain_staff)
    html = client.get(reverse("admin:recommendations_analyticsdashboard_changelist")).content.decode()
    svg = re.search(r'<svg id="chart-events".*?</svg>', html, re.S).group(0)
    peaks = _peaks(svg)
    assert set(peaks) == {"impression", "click", "purchase"}
    assert min(peaks.values()) == pytest.approx(max(peaks.values()))
    assert min(peaks.values()) > 30


@pytest.mark.parametrize(
    ("currency", "amount", "text"),
    [
        ("USD", Decimal("4499.00"), "$4,499.00"),
        ("EUR", 12.5, "€12.50"),
        ("CHF", 1200, "1,200.00 CHF"),
        ("USD", -3, "-$3.00"),
        ("USD", None, "\u2013"),
    ],
)
def test_money_is_written_with_the_currency(settings, currency, amount, text):
    settings.RECOMMENDATIONS_CURRENCY = currency
    assert money(amount) == text


def test_signed_money():
    assert money(Decimal("2.5"), signed=True) == "+$2.50"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (42, "42nd"),
        (100, "100th"),
        (101, "101st"),
        (111, "111th"),
        (0, "0th"),
    ],
)
def test_ordinals(n, text):
    assert ordinal_of(n) == text


def test_percentile():
    assert percentile(0.42) == "42nd percentile"
    assert percentile(None) == "\u2013"


def test_brand_label_reads_the_brand_name():
    adapter = ProductAdapter()
    acme = SimpleNamespace(pk=7, name="Acme & Co")
    assert adapter.brand(SimpleNamespace(brand=acme)) == "7"
    assert adapter.brand_label(SimpleNamespace(brand=acme)) == "Acme & Co"
    assert adapter.brand_label(SimpleNamespace(brand="nike")) == "nike"
    assert adapter.brand_label(SimpleNamespace()) is None


def test_portrait_page_writes_money_and_ordinal_percentiles(client, analyst, camper):
    portrait = service.rebuild(user=camper)
    portrait.purchasing_power = 0.42
    portrait.lifetime_value = Decimal("4499.00")
    portrait.save()
    client.force_login(analyst)
    html = client.get(reverse("admin:recommendations_portrait_change", args=[portrait.pk])).content.decode()
    assert "42nd percentile" in html and "42th" not in html
    assert "$4,499.00" in html


def test_dashboard_revenue_has_the_currency(client, plain_staff, scenario):
    grant(plain_staff, "view_analyticsdashboard")
    client.force_login(plain_staff)
    html = client.get(reverse("admin:recommendations_analyticsdashboard_changelist")).content.decode()
    revenues = re.findall(r'<td class="num revenue">([^<]*)</td>', html)
    assert revenues and all(r.startswith("$") for r in revenues), revenues
