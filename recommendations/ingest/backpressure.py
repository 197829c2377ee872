"""Back-pressure: a cap on the events waiting in the Redis stream.

When the drain falls behind (a stopped worker, a slow database, a flood of events) the stream
would grow without bound and take Redis's memory with it. Over ``INGEST_MAX_BACKLOG`` waiting
events:

* the HTTP API refuses new events with 429 and ``Retry-After`` (nothing of the request is stored;
  a client retries later with the same ``event_id``\\s);
* server-side capture (the middleware's page views, the cart and order signals, the order model)
  never fails the page or the checkout: the writer stores those events straight in the database
  instead of the stream (the live state is still updated), so the stream stops growing and nothing
  is lost.

The backlog is one ``XLEN`` (O(1)), read at most every ``INGEST_BACKLOG_CHECK_SECONDS`` per
process. A Redis that cannot be reached is no overload: the writer's own fallback handles it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import redis

from recommendations.conf import app_settings, built_from
from recommendations.connections import redis_client
from recommendations.ingest.stream import stream_key


@dataclass(frozen=True)
class Overload:
    backlog: int
    limit: int
    retry_after: int  # seconds


class BacklogGauge:
    """The stream's length, read at most once per ``interval`` seconds (per process)."""

    def __init__(self, client: redis.Redis | None, key: str, interval: float) -> None:
        self._client = client
        self._key = key
        self._interval = interval
        self._lock = threading.Lock()
        self._value: int | None = None
        self._expires = 0.0

    def read(self) -> int | None:
        """Events in the stream (drained or not yet acknowledged), or None: no Redis, or down."""
        if self._client is None:
            return None
        now = time.monotonic()
        if now < self._expires:
            return self._value
        with self._lock:
            if now < self._expires:
                return self._value
            try:
                value: int | None = int(self._client.xlen(self._key))
            except (redis.ConnectionError, redis.TimeoutError):
                value = None  # not known; an outage is not an overload, and is not asked again at once
            self._value, self._expires = value, time.monotonic() + self._interval
            return value


@built_from("REDIS_URL", "REDIS_KEY_PREFIX", "INGEST_BACKLOG_CHECK_SECONDS")
def gauge() -> BacklogGauge:
    return BacklogGauge(redis_client(), stream_key(), float(app_settings.INGEST_BACKLOG_CHECK_SECONDS))


def overloaded() -> Overload | None:
    """An :class:`Overload` while the stream holds more than ``INGEST_MAX_BACKLOG`` events."""
    limit = app_settings.INGEST_MAX_BACKLOG
    if limit is None:
        return None
    backlog = gauge().read()
    if backlog is None or backlog <= limit:
        return None
    return Overload(backlog, limit, int(app_settings.INGEST_RETRY_AFTER_SECONDS))
