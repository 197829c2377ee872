"""Redis down: capture falls back to the database, the client still gets 202, a warning is logged."""

from __future__ import annotations

import logging
import uuid

import pytest

from recommendations.models import Event
from tests.integration.httpclient import BROWSER_UA, Browser
from tests.integration.processes import free_port
from tests.integration.scenario import expected_rows, session_events, stored_rows

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("api_accepts_every_kind")]

WRITER_LOGGER = "recommendations.ingest.writer"


def fallback_warnings(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == WRITER_LOGGER and record.levelno == logging.WARNING
    ]


@pytest.fixture
def redis_mode(settings):
    def point_at(url: str) -> None:
        settings.RECOMMENDATIONS_REDIS_URL = url
        settings.RECOMMENDATIONS_REDIS_KEY_PREFIX = f"rectest:{uuid.uuid4().hex[:8]}:"

    return point_at


def test_unreachable_redis_sends_events_straight_to_the_database(live_server, catalogue, redis_mode, caplog):
    redis_mode(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    browser = Browser(live_server.url)
    events = session_events(catalogue, 40)

    with caplog.at_level(logging.WARNING, logger=WRITER_LOGGER):
        status, body = browser.post_events(events)

    assert (status, body) == (202, {"accepted": 40, "duplicates": 0})
    assert stored_rows() == expected_rows(events, browser.visitor_id)
    assert len(fallback_warnings(caplog)) == 1
    assert "Redis unreachable" in fallback_warnings(caplog)[0]
    # A retry of the same batch during the outage is still stored once (the database dedups).
    assert browser.post_events(events) == (202, {"accepted": 0, "duplicates": 40})
    assert Event.objects.count() == 40


def test_redis_dying_mid_run_switches_to_the_database(
    live_server, catalogue, private_redis, redis_mode, caplog, client
):
    redis_mode(private_redis.url)
    browser = Browser(live_server.url)
    before, during = session_events(catalogue, 20, tag="up"), session_events(catalogue, 30, tag="down")

    assert browser.post_events(before) == (202, {"accepted": 20, "duplicates": 0})
    assert Event.objects.count() == 0  # in the stream, waiting for a worker
    private_redis.stop()

    with caplog.at_level(logging.WARNING, logger=WRITER_LOGGER):
        status, body = browser.post_events(during)
        page = client.get(f"/items/{catalogue[0]}/", HTTP_USER_AGENT=BROWSER_UA)

    assert (status, body) == (202, {"accepted": 30, "duplicates": 0})
    assert page.status_code == 200
    assert stored_rows().items() >= expected_rows(during, browser.visitor_id).items()
    page_views = Event.objects.filter(source="middleware")
    assert [(e.kind, str(e.product_id)) for e in page_views] == [("view", catalogue[0])]
    assert Event.objects.count() == 31
    assert len(fallback_warnings(caplog)) == 2
