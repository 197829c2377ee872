"""The scale-out recipe (docker-compose.scale.yml) as real processes: two gunicorns, two Celery
workers and beat against one PostgreSQL database and one Redis, driven through the HTTP API by
concurrent shoppers spread over both web servers. One worker is SIGKILLed in the middle of a
drain (inside its database transaction) and one gunicorn (master and workers) under load; both
are restarted. Every event is stored exactly once and the ad budget holds.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.utils import timezone

from recommendations.ads import clicks
from recommendations.ads.ledger_redis import RedisLedger
from recommendations.ingest import stream
from recommendations.models import Campaign, Event
from recommendations.schema import derive_event_id
from tests.integration.conftest import stack_env
from tests.integration.processes import wait_for
from tests.integration.scenario import START
from tests.integration.test_worker_crash import event_table_locked, inserts_waiting_on_lock
from tests.integration.topology import Shopper, Stack, wait_until_drained

pytestmark = [pytest.mark.redis, pytest.mark.celery, pytest.mark.slow]

SHOPPERS = 6
BATCHES = 24  # per shopper
BATCH = 12  # events per request
AD_EVERY = 2  # an ad request every second batch: 72 requests for a budget of 40 impressions
BUDGET_IMPRESSIONS = 40


def shopper_events(tag: str, products: list[str], batch: int) -> list[dict]:
    events = []
    for n in range(BATCH):
        base = {"event_id": f"{tag}-{batch}-{n}", "timestamp": START.isoformat()}
        if n % 4 == 3:
            events.append({**base, "kind": "search", "query": f"tent {batch}"})
        else:
            events.append({**base, "kind": "view", "product": products[(batch + n) % len(products)]})
    return events


def scale_env(redis_settings, redis_url) -> dict[str, str]:
    return stack_env(
        redis_settings,
        redis_url,
        # a dead worker's batch is taken over by the others after a second
        RECOMMENDATIONS_TEST_CLAIM_IDLE_SECONDS="1",
        RECOMMENDATIONS_TEST_DRAIN_BATCH_SIZE="100",
    )


def worker_holding_a_batch(stack: Stack, client) -> object | None:
    """The worker whose consumer has stream entries read but not acknowledged."""
    summary = client.xpending(stream.stream_key(), stream.GROUP)
    busy = {consumer["name"] for consumer in summary.get("consumers", []) if int(consumer["pending"]) > 0}
    busy = {name.decode() if isinstance(name, bytes) else name for name in busy}
    for worker in stack.workers:
        if any(name.endswith(f"-{worker.pid}") for name in busy):
            return worker
    return None


def test_two_webs_two_workers_and_beat_lose_nothing_and_hold_the_budget(
    requires_postgres, redis_settings, redis_url, redis_client, catalogue, tmp_path
):
    campaign = Campaign.objects.create(
        name="Scale",
        status=Campaign.Status.ACTIVE,
        banner_title="Sale",
        target_url="https://shop.example/sale/",
        bid_type=Campaign.BidType.CPM,
        bid_amount=Decimal("1.00"),  # 1,000 micro-units per impression
        daily_budget=Decimal("100.00"),  # pacing never binds: the total budget does
        total_budget=Decimal(BUDGET_IMPRESSIONS) / 1000,
    )
    progress = {"batches": 0}
    lock = threading.Lock()
    received_impressions: list[str] = []
    # The shoppers wait at a quarter, half and three quarters of their batches until the test has
    # set up the next crash (or the restart), so the crashes land under load however fast the
    # machine serves the batches: on a quick machine the whole load used to finish before a web
    # server was killed, or inside the dead server's window, where every ad request of a
    # round-robin shopper lands on the dead server and the budget was never reached.
    table_locked, web_killed, web_restarted = threading.Event(), threading.Event(), threading.Event()
    gates = {BATCHES // 4: table_locked, BATCHES // 2: web_killed, 3 * BATCHES // 4: web_restarted}

    with Stack(scale_env(redis_settings, redis_url), redis_url, tmp_path) as stack:
        shoppers = [Shopper(stack.urls) for _ in range(SHOPPERS)]
        for shopper in shoppers:
            shopper.greet()

        def shop(index: int) -> None:
            shopper = shoppers[index]
            for batch in range(BATCHES):
                if batch in gates and not gates[batch].wait(timeout=120):
                    raise AssertionError(f"shopper {index} waited in vain at batch {batch}")
                shopper.send_events(shopper_events(f"s{index}", catalogue, batch))
                if batch % AD_EVERY == 0:
                    for ad in shopper.ad_slot("sidebar") or []:
                        token = ad["click_url"].rstrip("/").rsplit("/", 1)[1]
                        with lock:
                            received_impressions.append(clicks.unsign(token).impression_id)
                with lock:
                    progress["batches"] += 1

        total = SHOPPERS * BATCHES
        with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
            running = [pool.submit(shop, n) for n in range(SHOPPERS)]

            # A worker killed inside its drain transaction: its batch read, not committed.
            wait_for(lambda: progress["batches"] >= total // 4, timeout=40, what="a quarter of the load")
            with event_table_locked():
                table_locked.set()
                victim = wait_for(
                    lambda: inserts_waiting_on_lock() and worker_holding_a_batch(stack, redis_client),
                    timeout=20,
                    what="a worker blocked in its drain INSERT",
                )
                stack.replace_worker(victim)

            # A web server killed (master and workers) under load, then restarted on its port.
            wait_for(lambda: progress["batches"] >= total // 2, timeout=40, what="half the load")
            port = stack.kill_web(0)
            web_killed.set()
            wait_for(
                lambda: any(shopper.retries for shopper in shoppers),
                timeout=40,
                what="a request to hit the dead web",
            )
            stack.restart_web(0, port)
            web_restarted.set()

            for future in running:
                future.result(timeout=60)

        wait_until_drained(redis_client, stream.stream_key(), stream.GROUP, timeout=30)

    # Every event the shoppers sent is stored once, retried batches included.
    expected = {
        derive_event_id(event["event_id"], str(shopper.visitor_id))
        for index, shopper in enumerate(shoppers)
        for batch in range(BATCHES)
        for event in shopper_events(f"s{index}", catalogue, batch)
    }
    shopped = list(Event.objects.filter(kind__in=["view", "search"]).values_list("event_id", flat=True))
    assert len(shopped) == len(set(shopped)) == len(expected)
    assert set(shopped) == expected
    assert sum(shopper.retries for shopper in shoppers) >= 1  # the kill really hit requests
    assert redis_client.xlen(stream.dead_letter_key()) == 0

    # The budget held across both web servers: spend never passed it, every charge is one
    # impression, and each impression a shopper saw is stored once (a server killed after the
    # charge, before its answer, may have stored one nobody saw).
    ledger = RedisLedger(redis_client, redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX)
    spend = ledger.spend(campaign.pk, timezone.now())
    charged = ledger.counters([campaign.pk])[campaign.pk].impressions
    assert spend.total_micros <= BUDGET_IMPRESSIONS * 1000
    assert spend.total_micros == charged * 1000
    stored = [event.context["impression"] for event in Event.objects.filter(kind="impression")]
    assert len(stored) == len(set(stored))
    assert set(received_impressions) <= set(stored)
    assert len(received_impressions) <= len(stored) <= charged
    assert len(received_impressions) >= BUDGET_IMPRESSIONS - 2  # demand exceeded the budget
