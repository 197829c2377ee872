"""Refresh on write, in process: which writes announce a live-state change, and how the refresh
is scheduled (coalesced per visitor) and what it recomputes. The same against a real Celery
worker: tests/integration/test_slot_refresh.py."""

from __future__ import annotations

import uuid

import pytest

from recommendations import signals, taskqueue
from recommendations.serving import page, refresh
from recommendations.serving.page import SlotSpec, page_rows
from recommendations.tracking.recorder import record
from recommendations.tracking.visitors import Visitor
from recommendations.training import pipeline as training


@pytest.fixture
def trained(shop):
    shop.history()
    training.rebuild()
    return shop


@pytest.fixture
def announced():
    seen: list[list[str]] = []

    def receiver(sender, subjects, **kwargs):
        seen.append(list(subjects))

    signals.live_state_updated.connect(receiver, dispatch_uid="test.announced")
    yield seen
    signals.live_state_updated.disconnect(dispatch_uid="test.announced")


def _visitor() -> Visitor:
    return Visitor(uuid.uuid4(), None, False, False, "", "desktop")


def test_state_changing_writes_are_announced_once_per_visitor(trained, announced):
    shop = trained
    visitor = _visitor()
    key = visitor.subject.key
    record(
        [
            shop.event("view", shop.a[0], visitor.visitor_id),
            shop.event("view", shop.a[1], visitor.visitor_id),
        ],
        source="api",
        visitor=visitor,
    )
    record(
        [shop.event("impression", shop.a[2], visitor.visitor_id, slot="for_you")],
        source="api",
        visitor=visitor,
    )
    assert announced == [[key]]  # an impression changes no live state


def test_the_redis_path_announces_only_new_events(trained, announced, redis_settings):
    shop = trained
    visitor = _visitor()
    event = shop.event("view", shop.a[0], visitor.visitor_id, event_id="e-1")
    record([event], source="api", visitor=visitor)
    record([event], source="api", visitor=visitor)  # a retry: a duplicate changes nothing
    assert announced == [[visitor.subject.key]]


@pytest.fixture
def queued(monkeypatch, redis_settings, settings):
    """Redis mode with a (pretend) worker: what would be enqueued. The real worker:
    tests/integration/test_slot_refresh.py."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple] = []
    monkeypatch.setattr(taskqueue, "eager", lambda: False)
    monkeypatch.setattr(taskqueue, "send", lambda name, *args, **kw: sent.append((name, *args)))
    return sent


def test_a_burst_of_clicks_is_one_refresh(trained, queued):
    shop = trained
    visitor = _visitor()
    key = visitor.subject.key
    record([shop.event("view", shop.a[0], visitor.visitor_id)], source="api", visitor=visitor)
    assert queued == []  # nothing cached for this visitor yet: nothing to refresh
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    for item in shop.a[1:5]:
        record([shop.event("view", item, visitor.visitor_id)], source="api", visitor=visitor)
    assert queued == [(refresh.TASK, key)]
    refresh.run(key)  # the task clears the flag: the next click schedules the next refresh
    record([shop.event("view", shop.b[0], visitor.visitor_id)], source="api", visitor=visitor)
    assert queued == [(refresh.TASK, key), (refresh.TASK, key)]


def test_refresh_recomputes_the_stale_pages_so_the_next_read_is_a_hit(trained, queued, monkeypatch):
    shop = trained
    visitor = _visitor()
    key = visitor.subject.key
    specs = [SlotSpec("for_you", {}, 4), SlotSpec("trending", {}, 3)]
    page_rows(visitor.subject, specs)
    record(
        [shop.event("view", item, visitor.visitor_id) for item in shop.b[:3]], source="api", visitor=visitor
    )
    assert refresh.run(key) == 1
    assert refresh.run(key) == 0  # already fresh
    calls = []
    real = page.recommend_slots
    monkeypatch.setattr(page, "recommend_slots", lambda *a: calls.append(a) or real(*a))
    rows = page_rows(visitor.subject, specs)
    assert calls == []
    assert rows == page.compute(visitor.subject, specs, ["for_you", "trending"])
    assert {r.product_id for r in rows[0]} & shop.ids(shop.b)


def test_embedded_defaults_schedule_nothing(trained, monkeypatch):
    shop = trained
    sent = []
    monkeypatch.setattr(taskqueue, "send", lambda *a, **kw: sent.append(a))
    visitor = _visitor()
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    record([shop.event("view", shop.a[0], visitor.visitor_id)], source="api", visitor=visitor)
    assert sent == []  # eager Celery: the next read computes


def test_the_refresh_can_be_turned_off(trained, queued, settings):
    shop = trained
    settings.RECOMMENDATIONS_SLOT_CACHE_REFRESH_SECONDS = 0
    visitor = _visitor()
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    record([shop.event("view", shop.a[0], visitor.visitor_id)], source="api", visitor=visitor)
    assert queued == []
