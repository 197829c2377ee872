"""The demo's ad slot: seeded campaigns show on the home and search pages with a Sponsored label."""

import pytest

from recommendations.ads import catalog
from recommendations.experiments import registry
from recommendations.models import Campaign, Experiment
from shop_demo.shop.seeding_ads import seed_ad_campaigns

pytestmark = pytest.mark.django_db
BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"}


@pytest.fixture(autouse=True)
def _fresh_caches():
    catalog.clear()
    registry.clear()
    yield
    catalog.clear()
    registry.clear()


def test_seeding_is_idempotent(catalogue):
    first = seed_ad_campaigns()
    assert first >= 4 and seed_ad_campaigns() == first == Campaign.objects.count()
    assert Experiment.objects.filter(slot="ads:home", status="running").count() == 1


def test_home_and_search_show_sponsored_ads(client, catalogue):
    seed_ad_campaigns()
    home = client.get("/", **BROWSER).content.decode()
    assert "Sponsored" in home and "/api/recommendations/ads/click/" in home
    search = client.get("/search/", {"q": "camping"}, **BROWSER).content.decode()
    assert "Sponsored" in search


def test_sponsored_prices_carry_the_currency(client, catalogue):
    """Issue 10 item 20: the ad slot printed "4499.00"."""
    import re

    seed_ad_campaigns()
    home = client.get("/", **BROWSER).content.decode()
    aside = re.search(r'<aside class="ad-slot".*?</aside>', home, re.S).group(0)
    prices = re.findall(r'<span class="muted">([^<]*)</span>', aside)
    assert prices and all(re.fullmatch(r"\$[\d,]+\.\d\d", p) for p in prices), prices
