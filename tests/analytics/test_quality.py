"""The admin's model-quality page: per context the chosen blend, its validation NDCG next to
popularity and the previous versions, over time as an inline SVG; staff with the permission only."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from recommendations.models import ModelQuality
from tests.portraits.conftest import grant
from tests.portraits.test_browser import _log_in

URL = "admin:recommendations_modelquality_changelist"


def quality_rows():
    """Three rebuilds for known users (the last chose rp3beta + stan), one for the cart that kept
    the default for lack of data."""
    for n, (chosen, popular) in enumerate(((0.21, 0.10), (0.25, 0.11), (0.32, 0.12)), start=7):
        ModelQuality.objects.create(
            version_number=n,
            context="user",
            weights={"rp3beta": 1.0, "stan": 0.25},
            metrics={
                "chosen": {"recent": chosen, "random": chosen, "objective": chosen},
                "popularity": {"recent": popular, "random": popular, "objective": popular},
                "itemknn": {"recent": 0.2, "random": 0.19, "objective": 0.195},
            },
            n_queries={"recent": 300, "random": 280},
            reason="best single model: rp3beta; +stan x0.25",
            ndcg=chosen,
            popularity_ndcg=popular,
        )
    ModelQuality.objects.create(
        version_number=9,
        context="cart",
        weights={"itemknn": 0.3, "stan": 0.2},
        default_kept=True,
        reason="too little data: 12 validation queries (< 100); default kept",
    )


def test_staff_with_the_permission_see_each_context_over_time(client, plain_staff):
    quality_rows()
    grant(plain_staff, "view_modelquality")
    client.force_login(plain_staff)
    page = client.get(reverse(URL))
    assert page.status_code == 200
    html = page.content.decode()
    user = html[html.index('data-context="user"') : html.index('data-context="cart"')]
    assert "rp3beta 1 + stan 0.25" in user
    assert '<dd class="rec-ndcg">0.3200</dd>' in user
    assert '<dd class="rec-popularity">0.1200</dd>' in user
    assert '<dd class="rec-lift">+167 %</dd>' in user  # 0.32 / 0.12 - 1
    assert '<dd class="rec-previous">0.2500</dd>' in user
    svg = re.search(r'<svg id="quality-user".*?</svg>', user, re.S).group(0)
    assert "<script" not in user and not re.search(r'(src|href)="https?://', html)  # nothing fetched
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 6  # chosen and popularity, 3 versions
    assert "v7" in svg and "v9" in svg
    cart = html[html.index('data-context="cart"') :]
    assert "default recipe" in cart and "Default kept:" in cart and "too little data" in cart


def test_the_page_needs_its_permission(client, plain_staff):
    quality_rows()
    client.force_login(plain_staff)
    assert client.get(reverse(URL)).status_code == 403
    client.logout()
    assert client.get(reverse(URL)).status_code == 302  # to the admin login


def test_an_empty_history_says_how_to_get_one(client, plain_staff):
    grant(plain_staff, "view_modelquality")
    client.force_login(plain_staff)
    assert "No rebuild has evaluated itself yet" in client.get(reverse(URL)).content.decode()


@pytest.mark.browser
@pytest.mark.slow
def test_quality_charts_keep_every_label_inside(browser, live_server, client, plain_staff, tmp_path):
    quality_rows()
    grant(plain_staff, "view_modelquality")
    _log_in(browser, client, live_server, plain_staff)
    browser.set_window_size(1280, 1200)
    browser.get(live_server.url + reverse(URL))
    outside = browser.execute_script(
        """
        const svg = document.getElementById('quality-user');
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
    shot = tmp_path / "quality.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert outside == [], f"drawn outside the chart: {outside}"
    chart = browser.find_element("id", "quality-user")
    assert chart.rect["width"] > 300
    assert chart.rect["x"] + chart.rect["width"] <= browser.execute_script(
        "return document.documentElement.clientWidth"
    )
