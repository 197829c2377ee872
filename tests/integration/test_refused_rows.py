"""One row the database refuses never blocks the others (issue 10, items 1 and 2), on real
PostgreSQL, Redis and a Celery worker.

PostgreSQL refuses NUL characters in text and JSON, and the driver cannot encode an unpaired
surrogate. Validation now keeps both out of the HTTP API, but rows reach the stream by other paths
(an older release, a shop's own code, a future field): the drain must set such a row aside, in
the dead-letter stream with its payload, and store its neighbours.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations import privacy, runtime
from recommendations.ingest import stream
from recommendations.models import Event
from recommendations.schema import EventRow
from tests.integration.conftest import backlog_of
from tests.integration.httpclient import Browser
from tests.integration.processes import free_port, wait_for
from tests.integration.scenario import expected_rows, session_events, stored_rows

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("api_accepts_every_kind")]


def _row(product: str, visitor: uuid.UUID, n: int, **fields) -> EventRow:
    return EventRow(
        event_id=uuid.uuid4(),
        kind="view",
        created_at=timezone.now() - timedelta(seconds=n),
        source="signal",
        visitor_id=visitor,
        product_id=product,
        **fields,
    )


def _fill(catalogue: list[str]) -> tuple[set[uuid.UUID], dict[uuid.UUID, EventRow]]:
    """Forty good rows of four visitors and three the database refuses, interleaved, appended
    to the stream the way the ingest path appends them."""
    visitors = [uuid.uuid4() for _ in range(4)]
    good = [_row(catalogue[n % 5], visitors[n % 4], n) for n in range(40)]
    bad = [
        _row(catalogue[0], visitors[0], 100, context={"note": "a\x00b"}),  # NUL in JSON
        _row(catalogue[1], visitors[1], 101, query="tent\x00"),  # NUL in text
        _row(catalogue[2], visitors[2], 102, slot="\ud800"),  # cannot be encoded
    ]
    rows = [*good[:10], bad[0], *good[10:25], bad[1], *good[25:], bad[2]]
    assert all(runtime.live_store().apply_and_append(rows, append=True))
    return {row.event_id for row in good}, {row.event_id: row for row in bad}


def _dead_letters(client) -> list[dict[str, str]]:
    return [
        {key.decode(): value.decode(errors="surrogatepass") for key, value in fields.items()}
        for _, fields in client.xrange(stream.dead_letter_key())
    ]


def test_the_drain_stores_the_good_rows_and_dead_letters_the_refused_ones_with_their_payload(
    requires_postgres, catalogue, redis_settings, redis_client
):
    good, bad = _fill(catalogue)

    result = stream.drain()

    assert (result.read, result.inserted, result.dead_lettered) == (43, 40, 3)
    assert set(Event.objects.values_list("event_id", flat=True)) == good
    assert backlog_of(redis_client) == {"length": 0, "pending": 0}
    letters = _dead_letters(redis_client)
    assert len(letters) == 3
    for letter in letters:
        payload = json.loads(letter["e"])  # the whole event, as it was in the stream
        row = bad[uuid.UUID(payload["event_id"])]
        assert stream.decode_row(letter["e"]) == row
        assert letter["error"].startswith("refused by the database: ")
        assert letter["entry"]
    errors = sorted(letter["error"].split(": ")[1] for letter in letters)
    assert errors == ["DataError", "DataError", "UnicodeEncodeError"]
    # Nothing is retried: the next drain finds an empty stream.
    assert stream.drain() == stream.DrainResult()


def test_export_and_erasure_drain_past_a_refused_row(requires_postgres, catalogue, redis_settings):
    _, bad = _fill(catalogue)
    visitor = next(iter(bad.values())).visitor_id  # also owns a refused row

    exported = privacy.export_user_data(visitor_id=visitor)  # drains the stream first

    assert len(exported["events"]) == 10
    assert privacy.erase_user_data(visitor_id=visitor)["events"] == 10
    assert Event.objects.count() == 30


def test_a_real_worker_drains_past_refused_rows(requires_postgres, catalogue, start_worker, redis_client):
    good, _ = _fill(catalogue)
    worker = start_worker(batch_size=2000)
    worker.drain()
    wait_for(lambda: Event.objects.count() >= 40, timeout=60, what="the worker to store the 40 good rows")
    wait_for(lambda: backlog_of(redis_client)["length"] == 0, timeout=10, what="the stream to empty")

    assert set(Event.objects.values_list("event_id", flat=True)) == good
    assert redis_client.xlen(stream.dead_letter_key()) == 3
    assert "Unrecoverable" not in worker.log()


UNSTORABLE = [
    ("context", '{"note": "a\\u0000b"}'),
    ("context", '{"note": "\\ud800"}'),
    ("query", '"tent\\u0000"'),
]


def _post_unstorable(base_url: str, catalogue: list[str], field: str, value: str) -> None:
    """Five good events and one with ``value`` (raw JSON) in ``field``: a 400 naming that field."""
    good = session_events(catalogue, 5)
    body = json.dumps([*good, {"kind": "search", "query": "tent", field: "PLACEHOLDER"}])

    status, answer = _post_raw(base_url, body.replace('"PLACEHOLDER"', value))

    assert status == 400
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [(5, field)]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("field", "value"), UNSTORABLE)
def test_unstorable_text_is_a_400_over_http(
    requires_postgres, live_server, catalogue, redis_settings, redis_client, field, value
):
    _post_unstorable(live_server.url, catalogue, field, value)
    assert backlog_of(redis_client)["length"] == 0


@pytest.mark.parametrize(("field", "value"), UNSTORABLE)
def test_unstorable_text_is_a_400_not_a_500_with_redis_down(
    requires_postgres, live_server, catalogue, settings, field, value
):
    settings.RECOMMENDATIONS_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    _post_unstorable(live_server.url, catalogue, field, value)


def _post_raw(base_url: str, body: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the test server's http:// URL
        base_url + "/api/recommendations/events/",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Mozilla/5.0 Firefox/130.0"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+14:00", -62135596800, "1969-12-31T23:59:59Z"])
def test_a_bc_timestamp_is_refused_and_the_visitors_data_stays_exportable(
    requires_postgres, live_server, catalogue, redis_settings, redis_client, timestamp
):
    browser = Browser(live_server.url)
    events = session_events(catalogue, 10)
    assert browser.post_events(events) == (202, {"accepted": 10, "duplicates": 0})

    status, answer = browser.post_events([{"kind": "view", "product": catalogue[0], "timestamp": timestamp}])

    assert status == 400
    assert [e["field"] for e in answer["errors"]] == ["timestamp"]
    assert stream.drain().inserted == 10
    assert stored_rows() == expected_rows(events, browser.visitor_id)
    status, exported = browser.get_json("/api/recommendations/me/data/")
    assert status == 200
    assert len(exported["events"]) == 10
