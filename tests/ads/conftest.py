"""Fixtures for the ad and experiment tests: campaign factory, fresh caches, a browser request."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser

from recommendations.ads import catalog
from recommendations.experiments import assignment, registry


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
    def make(path: str = "/", user=None):
        request = rf.get(path, **browser_ua)
        request.user = user or AnonymousUser()
        return request

    return make
