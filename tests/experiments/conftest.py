"""Experiments share the ad fixtures (an ad-slot experiment ranks campaigns) and the headless
Chromium of the portrait page test."""

from tests.ads.conftest import _fresh_ad_caches, browser_request, make_campaign  # noqa: F401
from tests.portraits.test_browser import browser  # noqa: F401
