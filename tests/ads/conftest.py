"""Fixtures for the ad and experiment tests: campaign factory, fresh caches, a browser request."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import signing

from recommendations.ads import catalog
from recommendations.conf import app_settings
from recommendations.experiments import assignment, registry
from recommendations.tracking.visitors import COOKIE_SALT


@pytest.fixture(autouse=True)
def _fresh_ad_caches():
    catalog.clear()
    registry.clear()
    assignment.clear()
    yield
    catalog.clear()
    registry.clear()
    assignment.clear()


@pytest.fixture
def make_campaign(db):
    from recommendations.models import Campaign

    def make(**fields):
        values = {
            "name": "Campaign",
            "status": Campaign.Status.ACTIVE,
            "banner_title": "Summer sale",
            "target_url": "https://shop.example/sale/",
            "bid_type": Campaign.BidType.CPC,
            "bid_amount": Decimal("0.50"),
            "daily_budget": Decimal("100.00"),
            "total_budget": Decimal("100.00"),
        }
        values.update(fields)
        campaign = Campaign(**values)
        campaign.full_clean()
        campaign.save()
        return campaign

    return make


@pytest.fixture
def browser_request(rf, browser_ua):
    """A browser's request with its own visitor cookie (a new visitor each call unless
    ``visitor_id`` is given): a page view after the first, as most are. Requests without the
    cookie are counted per network and browser (tests/ads/test_cookieless.py)."""

    def make(path: str = "/", user=None, visitor_id: uuid.UUID | None = None):
        request = rf.get(path, **browser_ua)
        name = app_settings.VISITOR_COOKIE_NAME
        signer = signing.get_cookie_signer(salt=name + COOKIE_SALT)
        request.COOKIES[name] = signer.sign(str(visitor_id or uuid.uuid4()))
        request.user = user or AnonymousUser()
        return request

    return make
