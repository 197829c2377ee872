"""``manage.py recommendations_health``: what it reports and its exit status, on a real Redis."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from recommendations import runtime
from recommendations.ingest import stream
from recommendations.schema import EventRow
from recommendations.tasks import drain_events
from tests.integration.processes import free_port

pytestmark = pytest.mark.django_db


def health(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("recommendations_health", *args, stdout=out)
    except CommandError as exc:
        error = exc
    else:
        return 0, out.getvalue()
    assert str(error).startswith("unhealthy: ")
    return error.returncode, out.getvalue()


def report() -> tuple[int, dict]:
    code, out = health("--json")
    return code, json.loads(out)


def failing(body: dict) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["ok"]}


def append_searches(count: int) -> None:
    rows = [
        EventRow(
            event_id=uuid.uuid4(),
            kind="search",
            created_at=timezone.now(),
            source="api",
            visitor_id=uuid.uuid4(),
            query="tent",
        )
        for _ in range(count)
    ]
    assert all(runtime.live_store().apply_and_append(rows, append=True))


def test_embedded_mode_checks_the_database_only():
    code, body = report()
    assert code == 0
    assert body == {
        "healthy": True,
        "mode": "embedded",
        "checks": {"database": {"ok": True, "detail": "reachable", "value": None, "limit": None}},
    }


def test_healthy_only_once_a_worker_has_drained(redis_settings):
    code, body = report()
    assert (code, failing(body)) == (1, {"worker_heartbeat"})
    assert body["checks"]["worker_heartbeat"]["detail"] == "no worker has finished a drain yet"

    append_searches(3)
    assert drain_events() == 3  # the periodic task, as a worker runs it

    code, body = report()
    assert (code, body["healthy"], body["mode"]) == (0, True, "redis")
    assert body["checks"]["backlog"]["value"] == 0
    assert body["checks"]["worker_heartbeat"]["value"] < 5
    code, text = health()
    assert code == 0
    assert text.splitlines()[0] == "recommendations ingest: healthy (redis mode)"
    assert "since the last drain, by " in text


def test_a_drain_outside_the_task_is_no_heartbeat(redis_settings):
    # Export and erasure drain in the web process: that says nothing about the worker.
    stream.drain()
    assert failing(report()[1]) == {"worker_heartbeat"}


def test_backlog_and_oldest_event_over_their_limits(redis_settings):
    drain_events()
    redis_settings.RECOMMENDATIONS_HEALTH_MAX_BACKLOG = 2
    append_searches(2)
    assert report()[0] == 0
    append_searches(1)
    code, body = report()
    assert (code, failing(body)) == (1, {"backlog"})
    assert body["checks"]["backlog"] | {"detail": ""} == {"ok": False, "value": 3, "limit": 2, "detail": ""}

    # A stream of its own, whose first entry was appended ten minutes ago (ids only grow).
    redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX += "old:"
    client = runtime.redis_client()
    stream.record_heartbeat(client, "a worker", 0)
    ten_minutes_ago = int((timezone.now() - timedelta(minutes=10)).timestamp() * 1000)
    client.xadd(stream.stream_key(), {"e": "{}"}, id=f"{ten_minutes_ago}-0")
    code, body = report()
    assert (code, failing(body)) == (1, {"oldest_event"})
    assert 590 < body["checks"]["oldest_event"]["value"] < 700
    runtime.live_store().clear()
    redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX = redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX[:-4]


def test_dead_letters_and_a_stale_heartbeat_are_unhealthy(redis_settings):
    drain_events()
    client = runtime.redis_client()
    client.xadd(stream.dead_letter_key(), {"entry": "1-0", "error": "refused", "e": "{}"})
    code, body = report()
    assert (code, failing(body)) == (1, {"dead_letters"})

    client.delete(stream.dead_letter_key())
    seconds, _ = client.time()
    client.hset(stream.heartbeat_key(), "at", seconds - 600)
    code, text = health()
    assert code == 1
    assert "FAIL  worker_heartbeat" in text
    assert "UNHEALTHY (redis mode)" in text


def test_unreachable_redis_is_unhealthy(settings):
    settings.RECOMMENDATIONS_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    code, body = report()
    assert (code, body["healthy"], failing(body)) == (1, False, {"redis"})
    assert body["checks"]["redis"]["detail"].startswith("unreachable: ")
    assert body["checks"]["database"]["ok"]
