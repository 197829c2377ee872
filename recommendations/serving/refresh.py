"""Refresh on write: after a visitor's live state changes, recompute their cached slots in the
background, so that their next page is a cache hit that already shows the new clicks.

``live_state_updated`` (sent by the writer and the login merge) reaches :func:`schedule`, which
enqueues one ``recommendations.refresh_slots`` task per visitor who has cached slots and no
refresh pending yet: a Redis ``SET NX`` flag (``SLOT_CACHE_REFRESH_SECONDS``) coalesces a burst
of clicks into one recomputation. The task clears the flag before it computes, so an event that
arrives during the computation schedules the next one. A read that comes before the refresh
has finished computes the answer itself (a miss), so freshness never waits for the worker.

Redis mode with a Celery worker only: with eager Celery (the embedded defaults) nothing is
scheduled and the next read computes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from recommendations import signals, taskqueue
from recommendations.conf import app_settings
from recommendations.serving import page
from recommendations.serving.cache import RedisSlotCache, get_slot_cache

logger = logging.getLogger(__name__)
TASK = "recommendations.refresh_slots"

# KEYS: per subject its slots hash, then its pending flag; ARGV[1]: the flag's lifetime. Returns
# the 1-based positions of the subjects to refresh: some cached slots, no refresh pending.
# Called with one subject at a time (see _claim).
_CLAIM_LUA = """
local out = {}
local n = #KEYS / 2
for i = 1, n do
  if redis.call('HLEN', KEYS[i]) > 1 and redis.call('SET', KEYS[n + i], '1', 'NX', 'EX', ARGV[1]) then
    out[#out + 1] = i
  end
end
return out
"""
_scripts: dict[int, Any] = {}


def _flag_key(cache: RedisSlotCache, subject: str) -> str:
    return f"{cache.store.prefix}slots:refresh:{{{subject}}}"  # the visitor's hash tag: its slot


def claim_keys(cache: RedisSlotCache, subject: str) -> list[str]:
    """The keys one claim touches: the subject's slots hash and its pending flag (one slot)."""
    return [cache.store.slots_key(subject), _flag_key(cache, subject)]


def _claim(cache: RedisSlotCache, subjects: Sequence[str], seconds: int) -> list[str]:
    script = _scripts.get(id(cache.client))
    if script is None:
        script = _scripts[id(cache.client)] = cache.client.register_script(_CLAIM_LUA)
    # one call per subject: one visitor's keys share a cluster slot, two visitors' need not
    return [s for s in subjects if script(keys=claim_keys(cache, s), args=[seconds])]


def schedule(subjects: Sequence[str]) -> int:
    """Enqueue a refresh for each of ``subjects`` that has cached slots and none pending; returns
    how many were enqueued."""
    seconds = int(app_settings.SLOT_CACHE_REFRESH_SECONDS or 0)
    cache = get_slot_cache()
    if seconds <= 0 or not isinstance(cache, RedisSlotCache) or taskqueue.eager():
        return 0
    claimed = _claim(cache, subjects, seconds)
    for subject in claimed:
        taskqueue.send(TASK, subject)
    return len(claimed)


def run(subject: str) -> int:
    """The task's work: clear the pending flag, then recompute the visitor's stale cached pages."""
    cache = get_slot_cache()
    if isinstance(cache, RedisSlotCache):
        cache.client.delete(_flag_key(cache, subject))
    return page.refresh(subject)


def live_state_updated(sender: Any, subjects: Sequence[str], **kwargs: Any) -> None:
    try:
        schedule(subjects)
    except Exception:  # a refresh is an optimisation: the next read computes what it needs
        logger.warning("recommendations: scheduling the slot refresh failed", exc_info=True)


def connect() -> None:
    signals.live_state_updated.connect(live_state_updated, dispatch_uid="recommendations.serving.refresh")
