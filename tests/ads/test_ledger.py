"""Spend ledgers: the budget is never exceeded under concurrency, caps and pacing hold (Redis
and the embedded database path)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from recommendations.ads.catalog import CampaignSnapshot
from recommendations.ads.ledger import get_ledger
from recommendations.ads.ledger_db import DatabaseLedger
from recommendations.ads.ledger_redis import RedisLedger

pytestmark = pytest.mark.django_db

LATE = datetime(2030, 6, 1, 23, 0, tzinfo=UTC)  # 96% of the day gone: pacing allows the whole day


def _hammer(ledger, snapshot, threads: int, attempts: int) -> int:
    served = []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        barrier.wait()
        ok = 0
        for i in range(attempts):
            ok += ledger.charge_impression(snapshot, f"v:{n}-{i}", LATE).ok
        served.append(ok)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(served)


@pytest.mark.parametrize(("bid", "expected"), [(Decimal("1.00"), 1000), (Decimal("3.00"), 333)])
def test_redis_budget_never_exceeded_under_concurrency(redis_settings, make_campaign, bid, expected):
    # CPM: each impression costs bid / 1000; total budget 1.00 = 1_000_000 micro-units
    campaign = make_campaign(
        bid_type="cpm", bid_amount=bid, daily_budget=Decimal("1.00"), total_budget=Decimal("1.00")
    )
    snapshot = CampaignSnapshot.of(campaign)
    ledger = get_ledger()
    assert isinstance(ledger, RedisLedger)
    served = _hammer(ledger, snapshot, threads=8, attempts=250)  # 2000 attempts for <= 1000 slots
    spend = ledger.spend(campaign.pk, LATE)
    cost = int(bid * 1000)  # micro-units per impression
    assert spend.total_micros <= snapshot.total_budget_micros
    assert spend.total_micros > snapshot.total_budget_micros - cost  # the budget was reached
    assert served == expected == spend.total_micros // cost
    assert ledger.counters([campaign.pk])[campaign.pk].impressions == served


def test_redis_cpc_clicks_never_exceed_budget_and_count_once(redis_settings, make_campaign):
    campaign = make_campaign(
        bid_amount=Decimal("0.40"), daily_budget=Decimal("1.00"), total_budget=Decimal("1.00")
    )
    snapshot = CampaignSnapshot.of(campaign)
    ledger = get_ledger()
    charges = [ledger.charge_click(snapshot, f"imp{n}", LATE) for n in range(4)]
    assert [c.charged_micros for c in charges] == [400_000, 400_000, 0, 0]  # the third would pass 1.00
    assert [c.reason for c in charges] == ["", "", "unbilled", "unbilled"]
    assert ledger.charge_click(snapshot, "imp0", LATE).reason == "duplicate"  # reloaded redirect
    assert ledger.spend(campaign.pk, LATE).total_micros == 800_000
    assert ledger.counters([campaign.pk])[campaign.pk].clicks == 4
    # a CPC campaign is no longer served once one more click would not fit
    assert ledger.charge_impression(snapshot, "v:x", LATE).reason == "budget"


@pytest.mark.parametrize("mode", [pytest.param("redis", marks=pytest.mark.redis), "database"])
def test_frequency_cap_per_visitor_per_day(request, make_campaign, mode):
    if mode == "redis":
        request.getfixturevalue("redis_settings")
    campaign = make_campaign(frequency_cap=2)
    snapshot = CampaignSnapshot.of(campaign)
    ledger = get_ledger()
    assert isinstance(ledger, RedisLedger if mode == "redis" else DatabaseLedger)
    results = [ledger.charge_impression(snapshot, "v:alice", LATE) for _ in range(3)]
    assert [r.ok for r in results] == [True, True, False]
    assert results[2].reason == "cap"
    assert ledger.charge_impression(snapshot, "v:bob", LATE).ok  # another visitor
    assert ledger.charge_impression(snapshot, "v:alice", LATE + timedelta(days=1)).ok  # the next day


@pytest.mark.parametrize("mode", [pytest.param("redis", marks=pytest.mark.redis), "database"])
def test_pacing_spreads_the_daily_budget(request, settings, make_campaign, mode):
    if mode == "redis":
        request.getfixturevalue("redis_settings")
    settings.RECOMMENDATIONS_ADS_PACING_BURST = 0.1
    # CPM 1000.00: one impression costs 1.00 of a 10.00 daily budget
    campaign = make_campaign(
        bid_type="cpm",
        bid_amount=Decimal("1000"),
        daily_budget=Decimal("10.00"),
        total_budget=Decimal("50.00"),
    )
    snapshot = CampaignSnapshot.of(campaign)
    ledger = get_ledger()
    morning = datetime(2030, 6, 1, 6, 0, tzinfo=UTC)  # a quarter of the day: 10 x (0.25 + 0.1) = 3.5
    results = [ledger.charge_impression(snapshot, None, morning) for _ in range(5)]
    assert [r.ok for r in results] == [True, True, True, False, False]
    assert results[3].reason == "pacing"
    noon = morning.replace(hour=12)  # 10 x 0.6 = 6.0: three more
    assert sum(ledger.charge_impression(snapshot, None, noon).ok for _ in range(5)) == 3
    night = morning.replace(hour=23, minute=59)  # the rest of the daily budget, never more
    results = [ledger.charge_impression(snapshot, None, night) for _ in range(6)]
    assert sum(r.ok for r in results) == 4 and results[-1].reason == "daily"
    assert ledger.spend(campaign.pk, night).today_micros == 10_000_000


def test_database_ledger_budget_and_clicks(make_campaign):
    campaign = make_campaign(
        bid_type="cpm", bid_amount=Decimal("300"), daily_budget=Decimal("1.00"), total_budget=Decimal("1.00")
    )
    snapshot = CampaignSnapshot.of(campaign)
    ledger = get_ledger()
    assert isinstance(ledger, DatabaseLedger)
    served = sum(ledger.charge_impression(snapshot, None, LATE).ok for _ in range(6))
    assert served == 3  # 0.30 each: a fourth would pass 1.00
    assert ledger.spend(campaign.pk, LATE).total_micros == 900_000
    cpc = CampaignSnapshot.of(
        make_campaign(bid_amount=Decimal("0.60"), total_budget=Decimal("1.00"), daily_budget=Decimal("1.00"))
    )
    first = ledger.charge_click(cpc, "i1", LATE)
    assert first.charged_micros == 600_000
    assert ledger.charge_click(cpc, "i1", LATE).reason == "duplicate"
    assert ledger.charge_click(cpc, "i2", LATE).reason == "unbilled"
    assert ledger.spend(cpc.id, LATE).total_micros == 600_000
    assert ledger.counters([cpc.id])[cpc.id].clicks == 2


@pytest.mark.django_db(transaction=True)
def test_database_ledger_budget_never_exceeded_under_threads(make_campaign):
    campaign = make_campaign(
        bid_type="cpm", bid_amount=Decimal("7.00"), daily_budget=Decimal("0.50"), total_budget=Decimal("0.50")
    )
    snapshot = CampaignSnapshot.of(campaign)
    ledger = DatabaseLedger()
    served = _hammer(ledger, snapshot, threads=4, attempts=25)
    spend = ledger.spend(campaign.pk, LATE)
    assert spend.total_micros <= 500_000
    assert served == 500_000 // 7_000 == spend.total_micros // 7_000
