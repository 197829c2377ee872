"""The ingest fast path: the hand-written validator accepts what the serializer accepts, declared
bots are skipped, the one-statement insert reports new rows only, and the batched Lua script leaves
the same live state as one event at a time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from recommendations import runtime
from recommendations.api.event_parsing import parse_event, parse_events
from recommendations.api.events import EventSerializer
from recommendations.ingest.database import insert_rows
from recommendations.live import product_counters, visitor_state
from recommendations.live import redis as live_redis
from recommendations.models import Event
from recommendations.schema import EventRow

URL = "/api/recommendations/events/"

# Inputs around every field's type, coercion, null/blank and limit rules.
PAYLOADS = [
    {"kind": "view", "product": "p1"},
    {"kind": "view", "product": 12},
    {"kind": "view", "product": ""},
    {"kind": "view", "product": True},
    {"kind": "view", "product": 1.5},
    {"kind": "view", "product": None},
    {"kind": " view ", "product": "p1"},
    {"kind": "", "product": "p1"},
    {"kind": "   "},
    {"kind": None},
    {"kind": 7},
    {"kind": ["view"]},
    {"kind": "k" * 32},
    {"kind": "k" * 33},
    {"product": "p1"},
    {"kind": "view", "colour": "red"},
    {"kind": "view", "event_id": ""},
    {"kind": "view", "event_id": None},
    {"kind": "view", "event_id": 123},
    {"kind": "view", "event_id": "e" * 64},
    {"kind": "view", "event_id": "e" * 65},
    {"kind": "view", "event_id": "a\x00b"},
    {"kind": "search", "query": ""},
    {"kind": "search", "query": None},
    {"kind": "search", "query": "  tent  "},
    {"kind": "search", "query": "q" * 201},
    {"kind": "search", "result_count": "5"},
    {"kind": "search", "result_count": "5.0"},
    {"kind": "search", "result_count": 5.0},
    {"kind": "search", "result_count": 5.5},
    {"kind": "search", "result_count": -1},
    {"kind": "search", "result_count": True},
    {"kind": "search", "result_count": None},
    {"kind": "add_to_cart", "quantity": 0},
    {"kind": "add_to_cart", "quantity": 10_000},
    {"kind": "add_to_cart", "quantity": 10_001},
    {"kind": "add_to_cart", "quantity": "3"},
    {"kind": "purchase", "unit_price": "9.99"},
    {"kind": "purchase", "unit_price": 9.99},
    {"kind": "purchase", "unit_price": "9.999"},
    {"kind": "purchase", "unit_price": "-1"},
    {"kind": "purchase", "unit_price": "12345678901"},
    {"kind": "purchase", "unit_price": "1e3"},
    {"kind": "purchase", "unit_price": "NaN"},
    {"kind": "purchase", "unit_price": "abc"},
    {"kind": "purchase", "unit_price": True},
    {"kind": "purchase", "unit_price": None},
    {"kind": "purchase", "order_id": ""},
    {"kind": "purchase", "order_id": "o" * 65},
    {"kind": "click", "slot": "home", "position": 32767},
    {"kind": "click", "position": 32768},
    {"kind": "click", "token": "t" * 513},
    {"kind": "view", "timestamp": "2024-01-01T00:00:00Z"},
    {"kind": "view", "timestamp": "2024-01-01T00:00:00"},
    {"kind": "view", "timestamp": 1_700_000_000},
    {"kind": "view", "timestamp": "yesterday"},
    {"kind": "view", "timestamp": None},
    {"kind": "view", "timestamp": False},
    {"kind": "view", "context": {"route": "/p"}},
    {"kind": "view", "context": {}},
    {"kind": "view", "context": None},
    {"kind": "view", "context": ["a"]},
    {"kind": "view", "context": {"blob": "x" * 5000}},
    ["not", "an", "object"],
    None,
    "view",
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
@pytest.mark.parametrize("kinds", ["default", "every"])
def test_validator_matches_the_serializer(payload, kinds, request):
    if kinds == "every":  # the cart and purchase fields' rules, as in a shop that opened them
        request.getfixturevalue("api_accepts_every_kind")
    serializer = EventSerializer(data=payload)
    expected_ok = serializer.is_valid()
    event, errors = parse_event(payload)
    assert (event is not None) == expected_ok, (serializer.errors, errors)
    if expected_ok:
        assert event == serializer.to_event()
    else:
        fields = set(serializer.errors) if isinstance(serializer.errors, dict) else {"non_field_errors"}
        assert set(errors) >= fields
        for field, message in errors.items():
            if field != "non_field_errors":
                assert field in message  # the message names the field


def test_batch_errors_name_index_and_field_and_return_no_events():
    events, errors = parse_events([{"kind": "view"}, {"kind": "view", "quantity": 0}, {"size": 1}])
    assert events == []
    assert [(e["index"], e["field"]) for e in errors] == [(1, "quantity"), (2, "size"), (2, "kind")]
    events, errors = parse_events([{"kind": "view", "product": "a"}, {"kind": "search", "query": "x"}])
    assert errors == [] and [e.kind for e in events] == ["view", "search"]


@pytest.mark.django_db
@pytest.mark.parametrize("user_agent", ["Googlebot/2.1", "curl/8.5.0", ""])
def test_bots_are_skipped_as_by_the_middleware(client, item, user_agent):
    payload = {"kind": "view", "product": str(item.pk)}
    response = client.post(URL, payload, content_type="application/json", HTTP_USER_AGENT=user_agent)
    assert response.status_code == 202
    assert response.json() == {"accepted": 0, "duplicates": 0, "skipped": "bot"}
    assert not Event.objects.exists()
    assert "rec_vid" not in response.cookies  # no visitor minted for a bot


@pytest.mark.django_db
def test_bot_with_invalid_events_still_gets_the_errors(client):
    response = client.post(URL, {"kind": None}, content_type="application/json", HTTP_USER_AGENT="curl/8.0")
    assert response.status_code == 400


def _row(visitor: uuid.UUID, product: str, minutes_ago: float = 0.0, kind: str = "view") -> EventRow:
    return EventRow(
        event_id=uuid.uuid4(),
        kind=kind,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        source="api",
        visitor_id=visitor,
        product_id=product,
        categories=("c1", "c2"),
        context={"n": 1},
    )


@pytest.mark.django_db
def test_insert_rows_returns_only_rows_it_inserted(item):
    visitor = uuid.uuid4()
    first = [_row(visitor, str(item.pk)) for _ in range(3)]
    assert {r.event_id for r in insert_rows(first)} == {r.event_id for r in first}
    retry = [*first[1:], first[1], _row(visitor, str(item.pk))]
    new = insert_rows(retry)
    assert [r.event_id for r in new] == [retry[-1].event_id]
    assert Event.objects.count() == 4
    stored = Event.objects.get(event_id=first[0].event_id)
    assert (stored.visitor_id, str(stored.product_id), stored.context) == (visitor, str(item.pk), {"n": 1})


@pytest.mark.redis
@pytest.mark.django_db
def test_one_batch_leaves_the_same_live_state_as_one_event_at_a_time(
    items, redis_settings, settings, monkeypatch
):
    settings.RECOMMENDATIONS_LIVE_RECENT_ITEMS = 5
    runtime.reset()
    # one clock for both visitors' events and both reads: counters decay with time, and on a loaded
    # machine seconds pass between the two halves (a 2e-6 relative drift failed the comparison)
    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    monkeypatch.setattr(live_redis, "time", SimpleNamespace(time=frozen.timestamp))
    products = [str(p.pk) for p in items]
    batched, single = uuid.uuid4(), uuid.uuid4()

    def rows(visitor):
        kinds = ["view", "add_to_cart", "view", "purchase"]
        return [
            _row(visitor, products[n % 3], minutes_ago=(n * 7) % 11, kind=kinds[n % 4]) for n in range(12)
        ]

    store = runtime.live_store()
    assert all(store.apply_and_append(rows(batched), append=False))
    batched_counters = product_counters(products)
    store.clear()
    for row in rows(single):
        assert store.apply_and_append([row], append=False) == [True]
    single_counters = product_counters(products)
    for pid in products:
        for kind in ("views", "carts", "purchases"):
            assert getattr(batched_counters[pid], kind) == pytest.approx(getattr(single_counters[pid], kind))
    store.clear()
    store.apply_and_append(rows(batched), append=False)
    a, b = visitor_state(visitor_id=batched), None
    store.clear()
    for row in rows(single):
        store.apply_and_append([row], append=False)
    b = visitor_state(visitor_id=single)
    assert len(a.recent_items) == 5
    assert [(i.product_id, i.kind) for i in a.recent_items] == [
        (i.product_id, i.kind) for i in b.recent_items
    ]
    assert a.category_interest == b.category_interest
