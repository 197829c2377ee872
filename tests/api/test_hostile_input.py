"""What a careless or hostile client sends to ``POST events/`` is a short 400 naming the field,
never a 202 the database later refuses, nor a 500 (issue 10, items 1, 2 and 13)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from recommendations.models import Event
from recommendations.schema import EventIn, EventValidationError
from recommendations.tracking.bulk import import_events
from recommendations.tracking.recorder import record

pytestmark = pytest.mark.django_db
URL = "/api/recommendations/events/"


def post_raw(client, body: str | bytes):
    return client.post(URL, body, content_type="application/json")


def fields_of(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


# --- item 1: text the database cannot store -------------------------------------------------------

UNSTORABLE_CONTEXTS = {
    "nul in a value": r'{"note": "a\u0000b"}',
    "nul in a key": r'{"a\u0000b": 1}',
    "nul deep inside": r'{"a": [{"b": ["ok", "x\u0000"]}]}',
    "unpaired high surrogate": r'{"note": "\ud800"}',
    "unpaired low surrogate in a key": r'{"\udc00": "x"}',
    "surrogate in a list": r'{"a": ["\udbff"]}',
}


@pytest.mark.parametrize("context", UNSTORABLE_CONTEXTS.values(), ids=UNSTORABLE_CONTEXTS.keys())
def test_unstorable_text_in_context_is_400_naming_context(client, item, context):
    body = f'{{"kind": "view", "product": "{item.pk}", "context": {context}}}'
    response = post_raw(client, body)
    assert response.status_code == 400, response.content
    assert fields_of(response) == {"context"}
    assert "context" in response.json()["errors"][0]["message"]
    assert not Event.objects.exists()


def test_a_paired_surrogate_is_an_ordinary_character(client, item):
    body = f'{{"kind": "view", "product": "{item.pk}", "context": {{"emoji": "\\ud83d\\ude00"}}}}'
    assert post_raw(client, body).status_code == 202
    assert Event.objects.get().context == {"emoji": "\N{GRINNING FACE}"}


@pytest.mark.parametrize("field", ["product", "query", "order_id", "slot", "event_id"])
@pytest.mark.parametrize("bad", [r"a\u0000b", r"\ud800"], ids=["nul", "surrogate"])
def test_unstorable_text_in_any_string_field_is_400_naming_it(client, item, field, bad):
    event = {"kind": "search", "query": "tent", field: "PLACEHOLDER"}
    body = json.dumps(event).replace("PLACEHOLDER", bad)
    response = post_raw(client, body)
    assert response.status_code == 400
    assert field in fields_of(response)


def test_every_capture_path_refuses_unstorable_text(item):
    """The recorder checks too, so signals and imports never hand the database a NUL either."""
    visitor = uuid.uuid4()
    with pytest.raises(EventValidationError) as caught:
        record(
            [
                EventIn(kind="search", query="a\x00b", visitor_id=visitor),
                EventIn(kind="view", product_id=str(item.pk), visitor_id=visitor, context={"k": "\ud800"}),
            ],
            source="signal",
        )
    assert caught.value.errors.keys() == {0, 1}
    assert set(caught.value.errors[0]) == {"query"} and set(caught.value.errors[1]) == {"context"}
    assert not Event.objects.exists()


# --- item 2: timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC: a BC date in PostgreSQL
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        -62135596800,  # unix seconds of 0001-01-01
        -1,
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_absurd_timestamps_are_400_naming_timestamp(client, item, timestamp):
    response = client.post(
        URL,
        {"kind": "view", "product": str(item.pk), "timestamp": timestamp},
        content_type="application/json",
    )
    assert response.status_code == 400, response.json()
    assert fields_of(response) == {"timestamp"}
    assert not Event.objects.exists()


def test_past_limit_and_future_skew_come_from_settings(client, item, settings):
    settings.RECOMMENDATIONS_EVENT_MAX_AGE_DAYS = 10
    settings.RECOMMENDATIONS_EVENT_MAX_FUTURE_SECONDS = 60
    now = timezone.now()

    def status(when: datetime) -> int:
        payload = {"kind": "view", "product": str(item.pk), "timestamp": when.isoformat()}
        return client.post(URL, payload, content_type="application/json").status_code

    assert status(now - timedelta(days=9, hours=23)) == 202
    assert status(now - timedelta(days=10, minutes=1)) == 400
    assert status(now + timedelta(seconds=50)) == 202
    assert status(now + timedelta(seconds=70)) == 400
    settings.RECOMMENDATIONS_EVENT_MAX_AGE_DAYS = None  # no limit but 1970
    settings.RECOMMENDATIONS_EVENT_MAX_FUTURE_SECONDS = 3600
    assert status(datetime(1971, 1, 1, tzinfo=UTC)) == 202
    assert status(now + timedelta(minutes=50)) == 202
    assert status(datetime(1969, 1, 1, tzinfo=UTC)) == 400
    assert Event.objects.count() == 4


def test_the_400_says_what_the_limit_is(client, item, settings):
    settings.RECOMMENDATIONS_EVENT_MAX_FUTURE_SECONDS = 120
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    response = client.post(
        URL, {"kind": "view", "product": str(item.pk), "timestamp": later}, content_type="application/json"
    )
    assert "120 seconds in the future" in response.json()["errors"][0]["message"]


def test_bulk_import_keeps_old_history_but_not_before_1970(item, settings):
    settings.RECOMMENDATIONS_EVENT_MAX_AGE_DAYS = 30
    visitor = uuid.uuid4()
    old = timezone.now() - timedelta(days=3000)
    assert (
        import_events([EventIn(kind="view", product_id=str(item.pk), visitor_id=visitor, created_at=old)])
        == 1
    )
    ancient = datetime.fromisoformat("0001-01-01T00:00:00+14:00")
    with pytest.raises(EventValidationError) as caught:
        import_events([EventIn(kind="view", product_id=str(item.pk), visitor_id=visitor, created_at=ancient)])
    assert set(caught.value.errors[0]) == {"timestamp"}
    with pytest.raises(EventValidationError):  # the past limit holds on the other paths
        record(
            [EventIn(kind="view", product_id=str(item.pk), visitor_id=visitor, created_at=old)],
            source="signal",
        )


# --- item 13: nesting and error bodies ----------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 400_000, "{" + '"a":{' * 100_000, "[" * 5000 + "]" * 5000])
def test_deeply_nested_json_is_a_short_400(client, body):
    response = post_raw(client, body)
    assert response.status_code == 400
    assert len(response.content) < 500
    assert "nested too deeply" in response.json()["detail"]


def test_consent_endpoint_answers_deep_json_with_400_too(client):
    response = client.post("/api/recommendations/consent/", "[" * 400_000, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("depth", [9, 500])
def test_context_nested_too_deep_is_400_naming_context(client, item, depth):
    context = "[" * (depth - 1) + "1" + "]" * (depth - 1)
    body = f'{{"kind": "view", "product": "{item.pk}", "context": {{"deep": {context}}}}}'
    response = post_raw(client, body)
    assert response.status_code == 400
    assert fields_of(response) == {"context"}


def test_context_at_the_depth_limit_is_accepted(client, item):
    context = {"a": {"b": {"c": {"d": {"e": {"f": {"g": [1]}}}}}}}  # 8 levels
    response = client.post(
        URL, {"kind": "view", "product": str(item.pk), "context": context}, content_type="application/json"
    )
    assert response.status_code == 202
    assert Event.objects.get().context == context


def test_many_unknown_fields_give_a_short_capped_error_body(client, item):
    event = {"kind": "view", "product": str(item.pk)}
    event.update({f"field_{n:06d}": 0 for n in range(40_000)})
    body = json.dumps(event)
    assert len(body) > 700_000
    response = post_raw(client, body)
    assert response.status_code == 400
    data = response.json()
    assert len(response.content) < 20_000
    assert len(data["errors"]) == 50 and data["more_errors"] == 40_000 - 50
    assert data["errors"][0] == {
        "index": 0,
        "field": "field_000000",
        "message": "Unknown field 'field_000000'.",
    }


def test_a_huge_unknown_field_name_is_quoted_short(client, item):
    name = "x" * 800_000
    response = post_raw(client, json.dumps({"kind": "view", "product": str(item.pk), name: 1}))
    assert response.status_code == 400
    assert len(response.content) < 1000


def test_many_bad_events_give_a_capped_error_body(client, item):
    batch = [{"kind": "view", "product": "p" * 255} for _ in range(500)]
    response = client.post(URL, batch, content_type="application/json")
    assert response.status_code == 400
    assert len(response.json()["errors"]) == 50 and response.json()["more_errors"] == 450
    assert len(response.content) < 30_000


def test_a_huge_product_id_is_refused_without_quoting_it(client):
    response = client.post(URL, {"kind": "view", "product": "9" * 800_000}, content_type="application/json")
    assert response.status_code == 400
    assert fields_of(response) == {"product"}
    assert len(response.content) < 1000
