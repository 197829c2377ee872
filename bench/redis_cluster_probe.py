"""Probe: the app's per-visitor and per-campaign Redis operations on a real Redis Cluster.

    # three empty cluster nodes, e.g. on ports 8171-8173:
    redis-server --port 8171 --cluster-enabled yes --cluster-config-file nodes-8171.conf --save "" &
    ...
    redis-cli --cluster create 127.0.0.1:8171 127.0.0.1:8172 127.0.0.1:8173 --cluster-replicas 0
    PYTHONPATH=. .venv/bin/python bench/redis_cluster_probe.py 127.0.0.1:8171

Prints ok / FAILED per operation (docs/scaling.md lists the expected ones: the ingest script and
the serving cache's raw-socket reader need one Redis node). Writes keys under "rec:" on the cluster.
"""

import os
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django

django.setup()
import redis  # noqa: E402

from recommendations.ads.catalog import CampaignSnapshot  # noqa: E402
from recommendations.ads.ledger_redis import RedisLedger  # noqa: E402
from recommendations.live.redis import RedisLiveStore  # noqa: E402
from recommendations.models import Campaign  # noqa: E402
from recommendations.schema import EventRow  # noqa: E402
from recommendations.serving import refresh  # noqa: E402
from recommendations.serving.cache import RedisSlotCache  # noqa: E402

host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8171").partition(":")
client = redis.RedisCluster(host=host, port=int(port))
now = datetime(2030, 6, 1, 23, 0, tzinfo=UTC)
results = {}


def attempt(name, fn):
    try:
        results[name] = ("ok", fn())
    except Exception as exc:
        results[name] = ("FAILED", f"{type(exc).__name__}: {exc}"[:160])


store = RedisLiveStore(
    client=client,
    prefix="rec:",
    dedup_ttl=600,
    recent_items=50,
    recent_searches=20,
    ttl_seconds=3600,
    half_life_seconds=86400.0,
)
anon, user = uuid.uuid4(), "u:7"
row = EventRow(
    event_id=uuid.uuid4(),
    kind="view",
    created_at=now,
    source="api",
    visitor_id=anon,
    product_id="p1",
    categories=("c1",),
)
attempt("ingest script (documented one-node exception)", lambda: store.apply_and_append([row], append=True))
client.rpush(f"rec:v:{{v:{anon}}}:items", f"view|{now.timestamp()}|p1")
client.hset(f"rec:v:{{v:{anon}}}:cats", "c1", 1)
attempt("visitor_state (pipeline)", lambda: store.visitor_state(f"v:{anon}").recent_items)
attempt("merge (MULTI on target, DEL source)", lambda: store.merge(f"v:{anon}", user))
attempt(
    "state after merge",
    lambda: (store.visitor_state(user).recent_items, store.visitor_state(f"v:{anon}").is_empty),
)
attempt("forget (DEL of one visitor)", lambda: store.forget(user))
import recommendations.serving.cache as cache_module  # noqa: E402

try:
    RedisSlotCache(store, 60)
    results["serving cache hot reader"] = ("ok", "")
except Exception as exc:
    results["serving cache hot reader"] = ("FAILED", f"{type(exc).__name__}: {exc}")


class NoHot:
    supported = False

    def __init__(self, client):
        pass


cache_module.HotReader = NoHot
cache = RedisSlotCache(store, 60)
subjects = [f"v:{uuid.uuid4()}" for _ in range(3)]
for s in subjects:
    client.hset(store.slots_key(s), mapping={"ver": 1, "e:x": "{}"})
attempt("slot refresh claim (script per visitor)", lambda: refresh._claim(cache, subjects, 30))
ledger = RedisLedger(client, "rec:")


def snap(pk, **kw):
    c = Campaign(
        pk=pk,
        name="c",
        status="active",
        banner_title="t",
        target_url="https://x.example/",
        daily_budget=Decimal("100"),
        total_budget=Decimal("100"),
        **kw,
    )
    return CampaignSnapshot.of(c)


cpm, cpc = (
    snap(1, bid_type="cpm", bid_amount=Decimal("1.00")),
    snap(2, bid_type="cpc", bid_amount=Decimal("0.40")),
)
attempt("charge impression (script)", lambda: ledger.charge_impression(cpm, "v:a", now))
attempt("charge click (script)", lambda: ledger.charge_click(cpc, "imp-1", now))
attempt("spend (MGET)", lambda: ledger.spend(1, now))
attempt("counters (pipeline over campaigns)", lambda: ledger.counters([1, 2]))
attempt("forget caps (DEL per campaign)", lambda: ledger.forget(["v:a", "v:b"], [1, 2], now))
for name, (status, value) in results.items():
    print(f"{status:7} {name}: {value}")
