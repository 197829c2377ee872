"""Refresh on write against the real services: events recorded in Redis mode schedule one
``refresh_slots`` task per visitor through the broker, a real Celery worker recomputes the
visitor's cached page, and the next read is a hit showing the new clicks."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from celery import Celery, _state

from recommendations.schema import EventIn
from recommendations.serving import page, refresh
from recommendations.serving.page import SlotSpec, page_rows
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from recommendations.tracking.recorder import record
from recommendations.tracking.visitors import Visitor
from recommendations.training import pipeline as training
from tests.integration.processes import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.celery]


@pytest.fixture
def shop(transactional_db):
    """Two taste groups (tents, pans), trained, committed for the worker to see."""
    from tests.testapp.models import Category, Item

    camping, kitchen = Category.objects.create(name="Camping"), Category.objects.create(name="Kitchen")
    tents = [Item.objects.create(name=f"Tent {n}", category=camping, price=Decimal(50 + n)) for n in range(8)]
    pans = [Item.objects.create(name=f"Pan {n}", category=kitchen, price=Decimal(20 + n)) for n in range(8)]
    events = []
    for group in (tents, pans):
        for v in range(10):
            visitor = uuid.uuid4()
            events += [
                EventIn(kind="view", product_id=str(group[(v + k) % 8].pk), visitor_id=visitor)
                for k in range(4)
            ]
    import_events(events)
    training.rebuild()
    return tents, pans


@pytest.fixture
def worker_app(start_worker, redis_url, settings):
    """A real worker, and this process's Celery app sending refresh_slots to it through Redis (as a
    shop's Celery app would; the unit tests' app stays eager)."""
    worker = start_worker()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app = Celery("refresh-client", broker=redis_url, set_as_current=False)
    app.conf.task_routes = {refresh.TASK: {"queue": worker.queue}}
    previous = _state._tls.current_app
    app.set_current()
    yield worker
    _state._set_current_app(previous)
    app.close()


def test_a_worker_refreshes_the_visitors_page_after_their_clicks(shop, worker_app, monkeypatch):
    tents, pans = shop
    visitor = Visitor(uuid.uuid4(), None, False, False, "", "desktop")
    subject: Subject = visitor.subject
    specs = [SlotSpec("for_you", {}, 4), SlotSpec("trending", {}, 3)]
    record([EventIn(kind="view", product_id=str(pans[0].pk))], source="api", visitor=visitor)
    before = page_rows(subject, specs)  # a miss: computed and cached (its spec kept for refreshes)
    computed = []
    real = page.recommend_slots
    monkeypatch.setattr(page, "recommend_slots", lambda *a: computed.append(a) or real(*a))

    # a burst of clicks on tents: events that arrive while a refresh is pending join it
    burst = [tents[n % 4] for n in range(10)]
    for tent in burst:
        record([EventIn(kind="view", product_id=str(tent.pk))], source="api", visitor=visitor)

    def refreshed():
        lookup = page.get_slot_cache().get(
            subject.key, page._key(page._spec_text(specs, ["for_you", "trending"])), page._model_tag()
        )
        return lookup.payload is not None

    wait_for(refreshed, timeout=60, what="the worker to refresh the visitor's page")
    after = page_rows(subject, specs)
    assert computed == []  # the read was a hit: the worker computed it
    assert after != before
    assert {r.product_id for r in after[0]} & {str(t.pk) for t in tents}
    assert after == page.compute(subject, specs, ["for_you", "trending"])  # what a read would compute
    received = len(re.findall(r"refresh_slots\[[^\]]+\] received", worker_app.log()))
    # each task clears its flag when it starts, so a click during a refresh schedules one more;
    # the deterministic count is in tests/serving/test_slot_refresh.py
    assert 1 <= received < len(burst)
