"""Issue 10 item 11: a cookieless script burnt a CPM budget in 15 requests under a second, because
each request without the visitor cookie was a new visitor with a fresh frequency cap. Requests
without the cookie are counted per network (/24, /48) and User-Agent, under a daily keyed hash,
on both ledgers (Redis and the database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser

from recommendations.ads.ledger import get_ledger
from recommendations.ads.ledger_redis import RedisLedger
from recommendations.ads.serving import serve_ads
from recommendations.models import AdFrequency, Event
from recommendations.tracking.visitors import client_address, cookieless_key, network_of

pytestmark = pytest.mark.django_db
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "database"])
def ledger_mode(request):
    if request.param == "redis":
        request.getfixturevalue("redis_settings")
    ledger = get_ledger()
    assert isinstance(ledger, RedisLedger) == (request.param == "redis")
    return request.param


@pytest.fixture
def cpm_campaign(make_campaign):
    """CPM 10.00: every impression costs 0.01 of a 1.00 budget, so 100 requests could burn it."""

    def make(**fields):
        values = {
            "bid_type": "cpm",
            "bid_amount": Decimal("10.00"),
            "daily_budget": Decimal("1.00"),
            "total_budget": Decimal("1.00"),
        }
        return make_campaign(**(values | fields))

    return make


def cookieless(rf, ip: str, ua: str = FIREFOX, **extra):
    """A fresh request without any cookie, as a script that keeps none sends it."""
    request = rf.get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=ua, **extra)
    request.user = AnonymousUser()
    return request


def spent(campaign) -> int:
    from django.utils import timezone

    return get_ledger().spend(campaign.pk, timezone.now()).total_micros


def test_fifteen_cookieless_requests_are_charged_at_most_the_cap(rf, cpm_campaign, ledger_mode):
    campaign = cpm_campaign(frequency_cap=2)
    served = [serve_ads(cookieless(rf, "203.0.113.7"), "home") for _ in range(15)]
    assert [len(ads) for ads in served] == [1, 1] + [0] * 13
    assert spent(campaign) == 2 * 10_000  # two impressions of 0.01, not fifteen
    assert impressions_stored() == 2


def impressions_stored() -> int:
    from recommendations import runtime

    if runtime.redis_client() is not None:
        from recommendations.ingest.stream import drain

        drain()
    return Event.objects.filter(kind="impression").count()


def test_the_same_network_and_browser_is_one_client_another_prefix_is_another(rf, cpm_campaign, ledger_mode):
    campaign = cpm_campaign(frequency_cap=3)
    # Other hosts of one /24 with one browser are the same client ...
    same = [serve_ads(cookieless(rf, f"203.0.113.{host}"), "home") for host in (7, 8, 200, 7, 9)]
    assert [len(ads) for ads in same] == [1, 1, 1, 0, 0]
    # ... another /24, or another browser in the same one, is not.
    other = [serve_ads(cookieless(rf, "198.51.100.7"), "home") for _ in range(5)]
    assert [len(ads) for ads in other] == [1, 1, 1, 0, 0]
    chrome = [serve_ads(cookieless(rf, "203.0.113.7", CHROME), "home") for _ in range(4)]
    assert [len(ads) for ads in chrome] == [1, 1, 1, 0]
    # IPv6: one /48 is one client, another /48 another.
    v6 = [serve_ads(cookieless(rf, addr), "home") for addr in ("2001:db8:1:1::1", "2001:db8:1:ffff::2") * 2]
    assert [len(ads) for ads in v6] == [1, 1, 1, 0]
    assert len(serve_ads(cookieless(rf, "2001:db8:2::1"), "home")) == 1
    assert spent(campaign) == (3 + 3 + 3 + 3 + 1) * 10_000


def test_an_uncapped_campaign_is_capped_for_cookieless_clients(rf, settings, cpm_campaign, ledger_mode):
    campaign = cpm_campaign(frequency_cap=0)
    assert sum(len(serve_ads(cookieless(rf, "203.0.113.7"), "home")) for _ in range(15)) == 3
    settings.RECOMMENDATIONS_ADS_COOKIELESS_FREQUENCY_CAP = 1
    assert sum(len(serve_ads(cookieless(rf, "198.51.100.1"), "home")) for _ in range(5)) == 1
    settings.RECOMMENDATIONS_ADS_COOKIELESS_FREQUENCY_CAP = 0  # cookieless clients get no ads
    assert serve_ads(cookieless(rf, "192.0.2.1"), "home") == []
    assert spent(campaign) == 4 * 10_000


def test_visitors_with_the_cookie_and_users_keep_their_own_caps(
    rf, client, browser_ua, cpm_campaign, django_user_model, ledger_mode
):
    cpm_campaign(frequency_cap=2)
    for _ in range(3):  # the cookieless key of this network + browser is used up
        serve_ads(cookieless(rf, "127.0.0.1", browser_ua["HTTP_USER_AGENT"]), "home")
    # A browser that keeps its cookie is itself: its own cap (the test client keeps cookies).
    client.get("/ping/", **browser_ua)
    answers = [client.get("/api/recommendations/ads/home/", **browser_ua).json() for _ in range(3)]
    assert [len(a["results"]) for a in answers] == [1, 1, 0]
    # A logged-in user without the visitor cookie is counted as the user.
    user = django_user_model.objects.create_user("ann", password="x")
    request = cookieless(rf, "127.0.0.1", browser_ua["HTTP_USER_AGENT"])
    request.user = user
    assert len(serve_ads(request, "home")) == 1


def test_over_http_without_cookies(client, browser_ua, cpm_campaign, ledger_mode):
    campaign = cpm_campaign(frequency_cap=2)
    results = []
    for _ in range(15):
        client.cookies.clear()  # a script that keeps no cookies
        response = client.get("/api/recommendations/ads/home/", REMOTE_ADDR="203.0.113.50", **browser_ua)
        assert response.status_code == 200
        results.append(len(response.json()["results"]))
    assert results == [1, 1] + [0] * 13
    assert spent(campaign) == 2 * 10_000


def test_no_raw_address_is_stored_and_the_key_rotates_daily(rf, cpm_campaign, ledger_mode, settings):
    cpm_campaign(frequency_cap=2)
    serve_ads(cookieless(rf, "203.0.113.7"), "home")
    if ledger_mode == "redis":
        from recommendations import runtime

        stored = [key.decode() for key in runtime.redis_client().keys("*")]
    else:
        stored = list(AdFrequency.objects.values_list("subject", flat=True))
    assert stored and not any("203.0.113" in value or "Firefox" in value for value in stored)
    today = cookieless_key("203.0.113.7", FIREFOX, date(2030, 6, 1))
    assert today == cookieless_key("203.0.113.99", FIREFOX, date(2030, 6, 1))
    assert today != cookieless_key("203.0.113.7", FIREFOX, date(2030, 6, 2))  # rotated daily
    assert today != cookieless_key("203.0.114.7", FIREFOX, date(2030, 6, 1))
    assert today.startswith("c:") and len(today) == 34
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert today != cookieless_key("203.0.113.7", FIREFOX, date(2030, 6, 1))  # keyed


def test_networks_and_trusted_proxies(rf, settings):
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("::ffff:203.0.113.77") == "203.0.113.0/24"  # IPv4-mapped
    assert network_of("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert network_of("not an address") == network_of("") == ""
    spoofed = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9")
    # No NUM_PROXIES: the header is anyone's to write, so it is ignored.
    assert client_address(spoofed) == "10.0.0.2"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_address(spoofed) == "198.51.100.9"  # what the one trusted proxy saw
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 5}
    assert client_address(spoofed) == "1.2.3.4"
    assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"


def test_a_browsers_first_cookieless_impression_counts_for_the_visitor_it_becomes(
    client, browser_ua, cpm_campaign, ledger_mode
):
    """The first page view of any browser has no cookie yet: it is capped under the network key
    and also counts for the fresh visitor its response's cookie makes it, so the visitor's cap of
    2 a day is 2, not 3. Erasing that visitor takes its count and leaves the network's (shared,
    keyed by the day: nobody's own)."""
    cpm_campaign(frequency_cap=2)
    answers = [
        client.get("/api/recommendations/ads/home/", REMOTE_ADDR="192.0.2.10", **browser_ua) for _ in range(3)
    ]
    assert "rec_vid" in answers[0].cookies  # the first had no cookie and got one
    assert [len(a.json()["results"]) for a in answers] == [1, 1, 0]

    erased = client.delete("/api/recommendations/me/data/").json()["erased"]
    assert erased["ad_frequency_caps"] == 1
    # The network's count is left: a new cookieless request from there is still capped at 2.
    client.cookies.clear()
    again = client.get("/api/recommendations/ads/home/", REMOTE_ADDR="192.0.2.10", **browser_ua)
    assert len(again.json()["results"]) == 1
    client.cookies.clear()
    again = client.get("/api/recommendations/ads/home/", REMOTE_ADDR="192.0.2.10", **browser_ua)
    assert again.json()["results"] == []
