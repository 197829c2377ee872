"""The dashboard's events chart in a real headless Chromium at 1280 px: every name and number is
drawn inside the chart (issue 10, item 20: the legend was clipped, "remove_from_cart (" ...)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from recommendations.schema import EventIn
from recommendations.tracking.bulk import import_events
from tests.portraits.conftest import grant
from tests.portraits.test_browser import _log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_events_chart_keeps_every_label_inside(
    browser, live_server, client, plain_staff, scenario, shop, tmp_path
):
    product = str(shop.a[0].pk)
    now = timezone.now()
    import_events(
        [
            EventIn(
                kind="remove_from_cart",
                product_id=product,
                user_id=plain_staff.pk,
                created_at=now,
                quantity=1,
            )
        ]
        + [
            EventIn(kind="view", product_id=product, user_id=plain_staff.pk, created_at=now)
            for _ in range(40)
        ]
    )
    grant(plain_staff, "view_analyticsdashboard")
    _log_in(browser, client, live_server, plain_staff)
    browser.set_window_size(1280, 1400)
    browser.get(live_server.url + reverse("admin:recommendations_analyticsdashboard_changelist"))
    outside = browser.execute_script(
        """
        const svg = document.getElementById('chart-events');
        const box = svg.viewBox.baseVal;
        const out = [];
        for (const t of svg.querySelectorAll('text')) {
          const b = t.getBBox();
          if (b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5 || b.y < box.y - 0.5 ||
              b.y + b.height > box.y + box.height + 0.5) out.push(t.textContent);
        }
        return out;
        """
    )
    kinds = browser.execute_script(
        "return [...document.querySelectorAll('#chart-events .panel')].map(p => p.dataset.kind)"
    )
    shot = tmp_path / "dashboard.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert outside == [], f"drawn outside the chart: {outside}"
    assert set(kinds) == {"impression", "click", "purchase", "remove_from_cart", "view"}
    chart = browser.find_element("id", "chart-events")
    assert chart.rect["x"] + chart.rect["width"] <= browser.execute_script(
        "return document.documentElement.clientWidth"
    )
