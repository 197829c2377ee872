"""The catalogue generation: a number that changes whenever a product is saved or deleted, so
that caches of rendered products (the slot cache) can tell an entry from before the change.

With Redis it is one shared counter (``<prefix>catalogue:generation``): the process that saved
the product sees the new value at once, the others within ``MODEL_CHECK_SECONDS`` (they re-read
it no more often than that, like the active model version). Embedded: a counter in process.
"""

from __future__ import annotations

import logging
import threading
import time

from recommendations.conf import app_settings
from recommendations.connections import redis_client

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_local = [0]
_cached: list[tuple[str, float, int]] = []  # (Redis key, monotonic time read, shared value)


def _key() -> str:
    return f"{app_settings.REDIS_KEY_PREFIX}catalogue:generation"


def bump() -> None:
    """A product changed: every cache keyed by the generation is stale."""
    client = redis_client()
    with _lock:
        _local[0] += 1
        _cached.clear()
    if client is not None:
        try:
            client.incr(_key())
        except Exception:  # the slot cache's TTL still bounds how long the old display is served
            logger.warning("catalogue generation: Redis unreachable; other processes see the change late")


def generation() -> int:
    """The current generation (shared through Redis when configured, else this process's)."""
    client = redis_client()
    if client is None:
        return _local[0]
    key, now = _key(), time.monotonic()
    cached = _cached[0] if _cached else None
    if cached is not None and cached[0] == key and now - cached[1] < app_settings.MODEL_CHECK_SECONDS:
        return cached[2]
    try:
        value = int(client.get(key) or 0)
    except Exception:
        logger.warning("catalogue generation: Redis unreachable", exc_info=True)
        return cached[2] if cached is not None else 0
    with _lock:
        _cached[:] = [(key, now, value)]
    return value


def clear() -> None:
    """Forget the cached shared value (tests)."""
    with _lock:
        _cached.clear()
