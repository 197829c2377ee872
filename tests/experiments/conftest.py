"""Experiments share the ad fixtures: an ad-slot experiment ranks campaigns."""

from tests.ads.conftest import _fresh_ad_caches, browser_request, make_campaign  # noqa: F401
