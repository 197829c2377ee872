"""The same shopping session captured in embedded mode (database + in-process live state) and in
Redis mode (stream drained into the database + Redis live state) leaves the same result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations import runtime
from recommendations.ingest.stream import drain
from recommendations.live import visitor_state
from recommendations.models import Event
from recommendations.tracking.visitors import get_visitor
from tests.integration.httpclient import BROWSER_UA
from tests.integration.scenario import batches, expected_rows, session_events, stored_rows

EVENTS_URL = "/api/recommendations/events/"


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def mode(request, db) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_settings")
    return request.param


def visitor_of(response) -> str:
    return str(get_visitor(response.wsgi_request).visitor_id)


def test_same_session_same_result_in_both_modes(mode, client, items, api_accepts_every_kind):
    ids = [str(item.pk) for item in items]
    events = session_events(ids, 60, start=timezone.now() - timedelta(minutes=5))
    landing = client.get("/ping/", HTTP_USER_AGENT=BROWSER_UA)  # the page the beacon posts from
    responses = [
        client.post(EVENTS_URL, batch, content_type="application/json", HTTP_USER_AGENT=BROWSER_UA)
        for batch in batches(events, 25)
    ]
    page = client.get(f"/items/{ids[3]}/", HTTP_USER_AGENT=BROWSER_UA)
    search = client.get("/search/", {"q": "  green tent "}, HTTP_USER_AGENT=BROWSER_UA)
    retry = client.post(EVENTS_URL, events[:25], content_type="application/json", HTTP_USER_AGENT=BROWSER_UA)

    assert [r.status_code for r in responses] == [202, 202, 202]
    assert [r.json()["accepted"] for r in responses] == [25, 25, 10]
    assert retry.json() == {"accepted": 0, "duplicates": 25}
    assert (page.status_code, search.status_code) == (200, 200)
    visitor = visitor_of(landing)
    assert visitor_of(responses[0]) == visitor
    assert visitor_of(search) == visitor
    if mode == "redis":
        assert Event.objects.count() == 0
        assert drain().inserted == 62

    assert Event.objects.count() == 62
    api_ids = set(Event.objects.filter(source="api").values_list("event_id", flat=True))
    assert {k: v for k, v in stored_rows().items() if k in api_ids} == expected_rows(events, visitor)
    middleware = Event.objects.filter(source="middleware").order_by("created_at")
    assert [(e.kind, e.product_id and str(e.product_id), e.query, e.result_count) for e in middleware] == [
        ("view", ids[3], "", None),
        ("search", None, "green tent", 3),
    ]

    state = visitor_state(visitor_id=visitor)
    product_events = [(e["product"], e["kind"]) for e in events if "product" in e]
    assert [(i.product_id, i.kind) for i in state.recent_items] == [
        (ids[3], "view"),
        *reversed(product_events),
    ]
    assert [q for q, _ in state.recent_searches] == [
        "green tent",
        *(e["query"] for e in reversed(events) if "query" in e),
    ]
    path = runtime.adapter().categories(items[0])
    assert state.category_interest == dict.fromkeys(path, float(len(product_events) + 1))
