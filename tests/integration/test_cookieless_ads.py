"""Issue 10 item 11 against the real stack: gunicorn (docs/gunicorn.conf.py), PostgreSQL and the
Redis ledger. A script that keeps no cookies burnt a CPM budget in 15 requests under a second,
since each request was a new visitor with a fresh frequency cap."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from recommendations.ads.ledger import get_ledger
from recommendations.ads.ledger_redis import RedisLedger
from recommendations.models import Campaign
from tests.integration.httpclient import BROWSER_UA, Browser

pytestmark = [pytest.mark.redis]
SLOT = "/api/recommendations/ads/home/"
COST = 10_000  # CPM 10.00: 0.01 per impression, in micro-units


def cookieless_get(base_url: str, path: str, source: str = "127.0.0.1") -> tuple[int, dict, str]:
    """One GET without any cookie, from the loopback address ``source`` (127.0.0.0/8 is all
    loopback: 127.0.1.1 is another /24 than 127.0.0.1). Returns status, JSON and Set-Cookie."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    try:
        connection.request("GET", path, headers={"User-Agent": BROWSER_UA})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}"), response.getheader("Set-Cookie") or ""
    finally:
        connection.close()


@pytest.fixture
def cpm_campaign(requires_postgres):
    """Committed before gunicorn's workers first read the live campaigns."""
    return Campaign.objects.create(
        name="CPM",
        status=Campaign.Status.ACTIVE,
        banner_title="Summer sale",
        target_url="https://shop.example/sale/",
        bid_type=Campaign.BidType.CPM,
        bid_amount=Decimal("10.00"),
        daily_budget=Decimal("1.00"),
        total_budget=Decimal("1.00"),
        frequency_cap=2,
    )


def spent(campaign: Campaign) -> int:
    ledger = get_ledger()
    assert isinstance(ledger, RedisLedger)
    return ledger.spend(campaign.pk, timezone.now()).total_micros


def test_a_cookieless_script_is_charged_at_most_the_cap(cpm_campaign, gunicorn):
    # 15 requests at once, as the script sent them: all from one address, none with a cookie.
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: cookieless_get(gunicorn.url, SLOT), range(15)))
    assert {status for status, _, _ in answers} == {200}
    served = sum(len(body["results"]) for _, body, _ in answers)
    assert served == 2  # the campaign's cap, not 15
    assert spent(cpm_campaign) == 2 * COST
    # Each answer still gives the client a visitor cookie: a real browser continues as itself.
    assert all("rec_vid=" in cookie for _, _, cookie in answers)

    # Another /24 is another client, with a cap of its own.
    other = [cookieless_get(gunicorn.url, SLOT, source="127.0.1.1") for _ in range(4)]
    assert [len(body["results"]) for _, body, _ in other] == [1, 1, 0, 0]
    assert spent(cpm_campaign) == 4 * COST

    # A browser that keeps its cookie is counted as itself. Its first request (no cookie yet)
    # shares the used-up key of this network and browser, so gets none, but counts for nobody.
    browser = Browser(gunicorn.url)
    first = browser.get_json(SLOT)[1]["results"]
    later = [len(browser.get_json(SLOT)[1]["results"]) for _ in range(3)]
    assert (first, later) == ([], [1, 1, 0])
    assert spent(cpm_campaign) == 6 * COST
