"""Hostile clients against the real stack: gunicorn (docs/gunicorn.conf.py), PostgreSQL, Redis."""

from __future__ import annotations

import pytest

from recommendations.ingest.stream import drain
from recommendations.live import product_counters, visitor_state
from recommendations.models import Event
from tests.integration.conftest import backlog_of
from tests.integration.httpclient import Browser, ServerClient

pytestmark = [pytest.mark.redis]
EVENTS = "/api/recommendations/events/"


def test_a_forged_purchase_is_refused_and_nothing_is_stored(gunicorn, catalogue, redis_client):
    """Issue 10 item 9: anyone could post purchases at any price (202, stored), feeding lifetime
    value, segments, experiment revenue and training."""
    product = catalogue[0]
    forged = {
        "kind": "purchase",
        "product": product,
        "order_id": "forged-1",
        "quantity": 10_000,
        "unit_price": "9999999999.99",
        "event_id": "forged-1",
    }
    cart = {"kind": "add_to_cart", "product": product, "quantity": 50, "unit_price": "0.01"}
    browser, script = Browser(gunicorn.url), ServerClient(gunicorn.url)
    browser.get_json("/ping/")  # a page load: the browser has its visitor cookie

    for client in (browser, script):
        for body in (forged, [forged], {"events": [{"kind": "view", "product": product}, forged, cart]}):
            status, answer = client.post_json(EVENTS, body)
            assert status == 400, answer
            assert answer["error"] == "invalid"
            refused = [(e["field"], e["message"]) for e in answer["errors"]]
            assert refused and all(field == "kind" for field, _ in refused), refused
            assert all(m.endswith("Allowed kinds: click, impression, search, view.") for _, m in refused)

    assert backlog_of(redis_client)["length"] == 0
    assert drain().inserted == 0
    assert not Event.objects.exists()
    assert product_counters([product])[product].purchases == 0
    assert product_counters([product])[product].carts == 0
    assert visitor_state(visitor_id=browser.visitor_id).is_empty

    # The same stack stores what a browser may report: the refusals above are not an outage.
    status, answer = browser.post_events([{"kind": "view", "product": product}])
    assert (status, answer) == (202, {"accepted": 1, "duplicates": 0})
    assert drain().inserted == 1
    assert [(e.kind, str(e.product_id)) for e in Event.objects.all()] == [("view", product)]
