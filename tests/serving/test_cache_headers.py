"""Issue 10 item 8: personal results never carry a public cache header. Every endpoint that
answers about the current shopper says ``private, no-store`` (errors included); only trending,
which is served the same to everyone, is public, and it takes no personal parameter."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recommendations.ads import catalog
from recommendations.models import Campaign
from recommendations.training import pipeline as training

API = "/api/recommendations"
PRIVATE = "private, no-store"


@pytest.fixture
def browsed(client, shop, browser_ua):
    """A trained shop, a visitor who viewed two products and holds one in the cart, and a banner."""
    shop.history()
    training.rebuild()
    for item in shop.a[:2]:
        assert client.get(f"/items/{item.pk}/", **browser_ua).status_code == 200
    from recommendations.signals import added_to_cart

    request = client.get(f"/items/{shop.a[3].pk}/", **browser_ua).wsgi_request
    added_to_cart.send(sender=None, request=request, product=shop.a[3], quantity=1)
    Campaign.objects.create(
        name="Banner",
        status=Campaign.Status.ACTIVE,
        banner_title="Sale",
        target_url="/sale/",
        bid_amount=Decimal("1"),
        daily_budget=Decimal("10"),
        total_budget=Decimal("10"),
    )
    catalog.clear()
    return shop


def _personal_requests(client, shop, browser_ua):
    pk = shop.a[0].pk
    ad = client.get(f"{API}/ads/top/", **browser_ua).json()["results"][0]
    return {
        "for-you": client.get(f"{API}/for-you/", **browser_ua),
        "for-you?slot=recently_viewed": client.get(
            f"{API}/for-you/", {"slot": "recently_viewed"}, **browser_ua
        ),
        "for-you 400": client.get(f"{API}/for-you/", {"slot": "nope"}, **browser_ua),
        "similar": client.get(f"{API}/products/{pk}/similar/", **browser_ua),
        "bought-together": client.get(f"{API}/products/{pk}/bought-together/", **browser_ua),
        "recently-viewed": client.get(f"{API}/recently-viewed/", **browser_ua),
        "ads slot": client.get(f"{API}/ads/top/", **browser_ua),
        "ad click": client.get(ad["click_url"], **browser_ua),
        "ad click 400": client.get(f"{API}/ads/click/forged/", **browser_ua),
        "me/data GET": client.get(f"{API}/me/data/", **browser_ua),
        "consent GET": client.get(f"{API}/consent/", **browser_ua),
        "events POST": client.post(
            f"{API}/events/",
            {"kind": "view", "product": str(pk)},
            content_type="application/json",
            **browser_ua,
        ),
        "events 400": client.post(
            f"{API}/events/", {"kind": ""}, content_type="application/json", **browser_ua
        ),
        "consent POST": client.post(
            f"{API}/consent/", {"opt_out": False}, content_type="application/json", **browser_ua
        ),
        "me/data DELETE": client.delete(f"{API}/me/data/", **browser_ua),
    }


def test_every_personal_endpoint_is_private(client, browsed, browser_ua):
    responses = _personal_requests(client, browsed, browser_ua)
    statuses = {name: r.status_code for name, r in responses.items()}
    assert all(code < 500 for code in statuses.values()), statuses
    headers = {name: r.get("Cache-Control") for name, r in responses.items()}
    assert headers == dict.fromkeys(responses, PRIVATE)
    assert all("Cookie" in r.get("Vary", "") for r in responses.values()), {
        n: r.get("Vary") for n, r in responses.items()
    }


@pytest.mark.parametrize("params", [{"slot": "recently_viewed"}, {"slot": "for_you"}, {"user": "1"}])
def test_trending_takes_no_personal_parameter(client, browsed, browser_ua, params):
    """``/trending/?slot=recently_viewed`` returned the visitor's own history marked public."""
    response = client.get(f"{API}/trending/", params, **browser_ua)
    assert response.status_code == 400
    name = next(iter(params))
    assert name in response.json()["detail"]
    assert response["Cache-Control"] == PRIVATE


def test_trending_is_the_same_for_everyone_and_sets_no_cookie(client, browsed, browser_ua):
    """Public means shared: the body may not depend on who asks (not even on their cart), and a
    response a shared cache may keep never carries a visitor cookie."""
    mine = client.get(f"{API}/trending/", {"limit": 20}, **browser_ua)
    stranger = client.__class__().get(f"{API}/trending/", {"limit": 20}, **browser_ua)
    assert mine["Cache-Control"] == stranger["Cache-Control"] == "public, max-age=30"
    ids = [r["product_id"] for r in mine.json()["results"]]
    assert ids == [r["product_id"] for r in stranger.json()["results"]]
    assert str(browsed.a[3].pk) in ids  # the product in this visitor's cart is not hidden for them
    assert not stranger.cookies, stranger.cookies
