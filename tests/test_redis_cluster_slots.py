"""Redis Cluster: every multi-key operation the app sends for one visitor or one campaign (a
transaction, a script, a multi-key DEL or MGET) names keys of one hash slot, so it can run on a
cluster node. The slot is computed as the cluster does (CRC16 of the hash tag, redis-py's
``key_slot``). The operations run against the real Redis, through a client that records what
they send; the ingest script (one atomic call for a batch of any visitors) is the documented
exception (docs/scaling.md) and is not recorded here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from redis.crc import key_slot

from recommendations import runtime
from recommendations.ads.catalog import CampaignSnapshot
from recommendations.ads.ledger_redis import RedisLedger
from recommendations.portraits import scheduling
from recommendations.schema import EventRow
from recommendations.serving import refresh
from recommendations.serving.cache import RedisSlotCache

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

NOW = datetime(2030, 6, 1, 23, 0, tzinfo=UTC)
SINGLE_KEY_IN_PIPELINE = {"LPUSH", "RPUSH", "EXPIRE", "HINCRBY", "HINCRBYFLOAT", "HSET", "SET", "GET"}


class Recording:
    """A real Redis client that records the keys of each multi-key operation sent through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.operations: list[tuple[str, list[str]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _record(self, what: str, keys: Any) -> None:
        self.operations.append((what, [k.decode() if isinstance(k, bytes) else str(k) for k in keys]))

    def delete(self, *keys: Any) -> int:
        self._record("DEL", keys)
        return self._client.delete(*keys)

    def mget(self, *keys: Any) -> list:
        self._record("MGET", keys)
        return self._client.mget(*keys)

    def pipeline(self, transaction: bool = True) -> Any:
        pipe = self._client.pipeline(transaction=transaction)
        execute = pipe.execute

        def recorded(*args: Any, **kwargs: Any) -> Any:
            if transaction:  # MULTI/EXEC: every key in one slot (a plain pipeline may span nodes)
                keys = []
                for command, _ in pipe.command_stack:
                    name = str(command[0]).upper()
                    keys.extend(command[1:] if name == "DEL" else command[1:2])
                    assert name == "DEL" or name in SINGLE_KEY_IN_PIPELINE, name
                self._record("MULTI", keys)
            return execute(*args, **kwargs)

        pipe.execute = recorded
        return pipe

    def register_script(self, source: str) -> Any:
        script = self._client.register_script(source)

        def call(keys: Any = (), args: Any = (), client: Any = None) -> Any:
            self._record("EVAL", keys)
            return script(keys=keys, args=args)

        return call


def slots(keys: list[str]) -> set[int]:
    return {key_slot(key.encode()) for key in keys}


def assert_one_slot_each(operations: list[tuple[str, list[str]]], expected: int) -> None:
    assert len(operations) >= expected, operations
    for what, keys in operations:
        assert keys, what
        assert len(slots(keys)) == 1, f"{what} spans slots: {keys}"


@pytest.fixture
def store(redis_settings):
    store = runtime.live_store()
    store.client = Recording(store.client)
    return store


def view(subject_visitor: uuid.UUID, product: str) -> EventRow:
    return EventRow(
        event_id=uuid.uuid4(),
        kind="view",
        created_at=NOW,
        source="api",
        visitor_id=subject_visitor,
        product_id=product,
        categories=("c1",),
    )


def test_one_visitors_keys_and_flags_share_a_slot(store):
    subject = f"v:{uuid.uuid4()}"
    keys = [*store.subject_keys(subject), store.slots_key(subject)]
    cache = RedisSlotCache(store, 60)
    keys += refresh.claim_keys(cache, subject) + scheduling.flag_keys(subject)
    assert len(slots(keys)) == 1, keys
    assert len(slots(store.subject_keys("u:42") + store.subject_keys(subject))) == 2  # spread


def test_merge_and_forget_touch_one_visitor_per_operation(store):
    anonymous, user = uuid.uuid4(), "u:7"
    store.apply_and_append([view(anonymous, "p1"), view(anonymous, "p2")], append=False)
    store.client.operations.clear()  # the ingest script is the documented one-node exception

    store.merge(f"v:{anonymous}", user)
    store.forget(user)

    assert [what for what, _ in store.client.operations] == ["MULTI", "DEL", "DEL"]
    assert_one_slot_each(store.client.operations, 3)
    assert store.visitor_state(f"v:{anonymous}").is_empty and store.visitor_state(user).is_empty


def test_slot_refresh_claims_one_visitor_per_script_call(store, settings):
    cache = RedisSlotCache(store, 60)
    subjects = [f"v:{uuid.uuid4()}" for _ in range(3)]
    for subject in subjects:
        store.client.hset(cache.store.slots_key(subject), mapping={"ver": 1, "e:x": "{}"})
    refresh._scripts.clear()

    assert refresh._claim(cache, subjects, 30) == subjects
    assert refresh._claim(cache, subjects, 30) == []  # pending: claimed once

    assert_one_slot_each(store.client.operations, 6)


def test_portrait_flags_are_cleared_in_one_slot(redis_settings, monkeypatch):
    client = Recording(runtime.redis_client())
    monkeypatch.setattr(scheduling, "redis_client", lambda: client)
    scheduling.clear_flags(f"v:{uuid.uuid4()}")
    assert_one_slot_each(client.operations, 1)


def campaign(**fields: Any) -> CampaignSnapshot:
    from recommendations.models import Campaign

    values = {
        "name": "Campaign",
        "status": Campaign.Status.ACTIVE,
        "banner_title": "Sale",
        "target_url": "https://shop.example/sale/",
        "daily_budget": Decimal("100.00"),
        "total_budget": Decimal("100.00"),
        **fields,
    }
    return CampaignSnapshot.of(Campaign.objects.create(**values))


def test_the_ad_ledger_keeps_each_campaign_in_one_slot(redis_settings):
    cpm = campaign(bid_type="cpm", bid_amount=Decimal("1.00"))
    cpc = campaign(bid_type="cpc", bid_amount=Decimal("0.40"))
    client = Recording(runtime.redis_client())
    ledger = RedisLedger(client, redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX)

    assert ledger.charge_impression(cpm, "v:a", NOW).ok
    assert ledger.charge_impression(cpc, None, NOW).ok
    assert ledger.charge_click(cpc, "imp-1", NOW).charged_micros == 400_000
    ledger.spend(cpm.id, NOW)
    ledger.forget(["v:a", "v:b"], [cpm.id, cpc.id], NOW)

    assert [what for what, _ in client.operations] == ["EVAL", "EVAL", "EVAL", "MGET", "DEL", "DEL"]
    assert_one_slot_each(client.operations, 6)
