"""Is ingest healthy? What ``manage.py recommendations_health`` reports: Redis reachable, events
waiting in the stream and the age of the oldest, dead letters, and the drain worker's heartbeat.

Embedded mode (no Redis) has no stream and no worker: events go straight to the database, so
the report checks the database only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from django.db import DatabaseError, connection

from recommendations.conf import app_settings
from recommendations.ingest import stream


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    value: float | int | None = None
    limit: float | int | None = None


@dataclass(frozen=True)
class HealthReport:
    mode: str  # "redis" or "embedded"
    checks: list[Check] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "mode": self.mode,
            "checks": {
                check.name: {k: v for k, v in asdict(check).items() if k != "name"} for check in self.checks
            },
        }


def _client() -> redis.Redis:
    # A client of its own with short timeouts and no retries: the check must answer quickly,
    # and a Redis that is down is a result, not an error.
    return redis.Redis.from_url(
        app_settings.REDIS_URL, socket_timeout=2.0, socket_connect_timeout=2.0, retry_on_timeout=False
    )


def _database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return Check("database", False, f"unreachable: {exc}")
    return Check("database", True, "reachable")


def _at_most(name: str, value: float | None, limit: float | None, what: str, unit: str = "") -> Check:
    if value is None:
        return Check(name, True, f"{what}: none", None, limit)
    shown = f"{value:.1f}" if isinstance(value, float) else str(value)
    detail = f"{what}: {shown}{unit}" + ("" if limit is None else f" (limit {limit}{unit})")
    return Check(name, limit is None or value <= limit, detail, value, limit)


def _redis_checks(client: redis.Redis) -> list[Check]:
    stream.ensure_group(client)
    pipe = client.pipeline(transaction=False)
    pipe.time()
    pipe.xlen(stream.stream_key())
    pipe.xrange(stream.stream_key(), count=1)
    pipe.xpending(stream.stream_key(), stream.GROUP)
    pipe.xlen(stream.dead_letter_key())
    pipe.hgetall(stream.heartbeat_key())
    (seconds, micros), length, oldest, pending, dead, beat = pipe.execute()
    now = seconds + micros / 1_000_000
    # An entry id is "<milliseconds>-<sequence>", stamped by Redis when the entry was appended.
    oldest_age = None
    if oldest:
        oldest_age = max(0.0, now - int(oldest[0][0].split(b"-")[0]) / 1000)
    checks = [
        Check("redis", True, "reachable"),
        _at_most("backlog", length, app_settings.HEALTH_MAX_BACKLOG, "events waiting in the stream"),
        Check(
            "pending",
            True,
            f"read by a worker, not yet stored: {int(pending['pending'])}",
            int(pending["pending"]),
        ),
        _at_most(
            "oldest_event",
            oldest_age,
            app_settings.HEALTH_MAX_EVENT_AGE_SECONDS,
            "oldest waiting event",
            " s",
        ),
        _at_most(
            "dead_letters", dead, app_settings.HEALTH_MAX_DEAD_LETTERS, "entries set aside (dead letters)"
        ),
    ]
    limit = app_settings.HEALTH_MAX_HEARTBEAT_AGE_SECONDS
    if b"at" not in beat:
        checks.append(Check("worker_heartbeat", False, "no worker has finished a drain yet", None, limit))
    else:
        age = max(0.0, now - float(beat[b"at"]))
        consumer = beat.get(b"consumer", b"?").decode(errors="replace")
        checks.append(_at_most("worker_heartbeat", age, limit, f"since the last drain, by {consumer}", " s"))
    return checks


def check() -> HealthReport:
    """The current state of ingest; never raises for a service that is down."""
    if not app_settings.REDIS_URL:
        return HealthReport("embedded", [_database()])
    client = _client()
    try:
        checks = _redis_checks(client)
    except redis.RedisError as exc:
        checks = [Check("redis", False, f"unreachable: {exc}")]
    finally:
        client.close()
    return HealthReport("redis", [*checks, _database()])
