"""Debounced portrait rebuilds after new events.

The first event of a subject sets a short-lived "scheduled" flag (Redis ``SET NX`` when Redis is
configured, else the Django cache) and enqueues one Celery task with a countdown; events inside the
countdown join that rebuild. With eager Celery (embedded mode) nothing is enqueued: the subject is
marked stale and rebuilt the next time :func:`recommendations.portraits.get_portrait` reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache

from recommendations import taskqueue
from recommendations.conf import app_settings
from recommendations.connections import redis_client

logger = logging.getLogger(__name__)

BREAKPOINTS_KEY = "portrait:rfm-breakpoints"


# --- debouncing -----------------------------------------------------------------------------------


def _flag_key(name: str, subject: str) -> str:
    # the subject is the hash tag, as for its live-state keys: both flags in one cluster slot
    return f"{app_settings.REDIS_KEY_PREFIX}portrait:{name}:{{{subject}}}"


def flag_keys(subject: str) -> list[str]:
    """The subject's debounce flags, deleted together by :func:`clear_flags`."""
    return [_flag_key("scheduled", subject), _flag_key("stale", subject)]


def _claim(subject: str, seconds: int) -> bool:
    """True for the first caller within ``seconds`` (one rebuild per subject per window)."""
    key = _flag_key("scheduled", subject)
    client = redis_client()
    if client is not None:
        try:
            return bool(client.set(key, "1", nx=True, ex=max(seconds, 1) + 60))
        except Exception:  # Redis outage: fall back to the cache, a duplicate rebuild is harmless
            logger.warning("portraits: Redis unreachable; debouncing through the Django cache")
    return cache.add(key, 1, timeout=max(seconds, 1) + 60)


def clear_flags(subject: str) -> None:
    keys = flag_keys(subject)
    client = redis_client()
    if client is not None:
        try:
            client.delete(*keys)
        except Exception:
            logger.warning("portraits: Redis unreachable; scheduled flag of %s expires by itself", subject)
    cache.delete_many(keys)


def is_stale(subject: str) -> bool:
    """Marked by :func:`schedule` in eager mode: the next read rebuilds."""
    return bool(cache.get(_flag_key("stale", subject)))


def schedule(subjects: Iterable[str]) -> int:
    """Debounced rebuild of each subject after new events; returns tasks enqueued."""
    delay = int(app_settings.PORTRAIT_DEBOUNCE_SECONDS)
    if taskqueue.eager():
        for subject in set(subjects):
            cache.set(_flag_key("stale", subject), 1, timeout=None)
        return 0
    enqueued = 0
    for subject in sorted(set(subjects)):
        if _claim(subject, delay):
            taskqueue.send("recommendations.rebuild_portrait", subject, countdown=delay)
            enqueued += 1
    return enqueued


def schedule_for_rows(rows: Iterable[Any]) -> int:
    """Hook for the event writers: schedule the subjects of newly stored rows (``EventRow``s)."""
    subjects = set()
    for row in rows:
        try:
            subjects.add(row.subject)
        except ValueError:
            continue
    return schedule(subjects) if subjects else 0
