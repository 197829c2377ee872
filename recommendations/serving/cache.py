"""Cached slots: what a visitor's page (or API answer) recommends, keyed by the model version and
the visitor's live-state version, so that a read is one lookup.

Every change of a visitor's live state bumps their version (``LiveStore.state_version``); an
entry is served only while the model version, the live-state version it was computed at and its
age (``SLOT_CACHE_TTL_SECONDS``) all still hold. Nothing is ever deleted to invalidate: a stale
entry simply no longer matches, and the next computation overwrites it.

* Redis (``RECOMMENDATIONS_REDIS_URL``): the entries sit in the visitor's ``v:<subject>:slots``
  hash beside the version field the live store bumps, so one ``HMGET`` reads the version and the
  entry together (sent by :mod:`.resp`, not redis-py: a fifth of the CPU); a write is a check-and-set on the version (a computation that raced with a new
  event never stores a stale answer). The hash expires with the live state; erasure deletes it.
  Each process keeps a copy of what it read (``SLOT_NEAR_CACHE_ENTRIES``, :mod:`.near`) that
  Redis invalidates when the hash changes, so a repeated read makes no round trip.
* In process (embedded defaults): an LRU of ``SLOT_CACHE_MAX_ENTRIES`` entries; the version is
  read from the in-process live store.

An entry is opaque text (the render step's serialised slots); the cache also keeps, per visitor,
the spec each entry was computed from, so the refresh task can recompute them after new events.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from recommendations.conf import app_settings, built_from
from recommendations.live import LiveStore, get_live_store
from recommendations.live.redis import RedisLiveStore
from recommendations.serving.near import NearCache
from recommendations.serving.resp import HotReader

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lookup:
    payload: str | None  # the fresh entry, or None (a miss)
    version: int  # the visitor's live-state version when looked up: tag a store with it


class SlotCache(abc.ABC):
    def __init__(self, store: LiveStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl

    def _fresh(self, header: tuple[str, str, str], model: str, version: int) -> bool:
        stored_model, stored_version, stamp = header
        return (
            stored_model == str(model)
            and stored_version == str(version)
            and time.time() - float(stamp) < self.ttl
        )

    @abc.abstractmethod
    def get(self, subject: str, key: str, model: str) -> Lookup: ...

    @abc.abstractmethod
    def put(self, subject: str, key: str, *, version: int, model: str, payload: str, spec: str) -> bool:
        """Store ``payload`` as computed at live-state ``version``; False (nothing stored) when the
        visitor's state has moved on since."""

    @abc.abstractmethod
    def specs(self, subject: str) -> dict[str, str]:
        """key -> spec of the visitor's entries (what a refresh recomputes)."""

    @abc.abstractmethod
    def clear(self) -> None: ...


# KEYS[1] the visitor's slots hash; ARGV: expected version, entry field, entry, spec field, spec, ttl
_PUT_LUA = """
local current = redis.call('HGET', KEYS[1], 'ver') or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
return 1
"""


class RedisSlotCache(SlotCache):
    store: RedisLiveStore

    def __init__(self, store: RedisLiveStore, ttl: float, near_entries: int = 0) -> None:
        super().__init__(store, ttl)
        self.client = store.client
        self._put = self.client.register_script(_PUT_LUA)
        self._reader = HotReader(self.client)
        self.near: NearCache | None = None
        if near_entries > 0 and self._reader.supported:
            reader = self._reader
            self.near = NearCache(
                self._fetch,
                prefix=f"{store.prefix}v:",
                max_entries=near_entries,
                host=reader.host,
                port=reader.port,
                username=reader.username,
                password=reader.password,
                connect_timeout=reader.connect_timeout,
            )
            store.on_change = self.near.discard  # this process's own writes, at once

    def _hmget(self, name: str, fields: tuple[str, ...]) -> list[bytes | None]:
        if self.near is not None:
            return self.near.hmget(name, fields)
        return self._fetch(name, fields)

    def _fetch(self, name: str, fields: tuple[str, ...]) -> list[bytes | None]:
        if self._reader.supported:
            try:
                return self._reader.hmget(name, fields)
            except Exception:  # redis-py tries again, and reports what is wrong
                logger.debug("slot cache: the direct HMGET failed; trying redis-py", exc_info=True)
        return self.client.hmget(name, fields)

    def get(self, subject: str, key: str, model: str) -> Lookup:
        raw_version, raw = self._hmget(self.store.slots_key(subject), ("ver", "e:" + key))
        version = 0 if raw_version is None else int(raw_version)
        if raw is None:
            return Lookup(None, version)
        stored_model, stored_version, stamp, payload = raw.decode().split("|", 3)
        if not self._fresh((stored_model, stored_version, stamp), model, version):
            return Lookup(None, version)
        return Lookup(payload, version)

    def put(self, subject: str, key: str, *, version: int, model: str, payload: str, spec: str) -> bool:
        entry = f"{model}|{version}|{time.time():.3f}|{payload}"
        args = [version, "e:" + key, entry, "s:" + key, spec, max(int(self.ttl), 1)]
        name = self.store.slots_key(subject)
        try:
            return bool(self._put(keys=[name], args=args))
        finally:
            if self.near is not None:
                self.near.discard([name])

    def specs(self, subject: str) -> dict[str, str]:
        raw = self.client.hgetall(self.store.slots_key(subject))
        return {k.decode()[2:]: v.decode() for k, v in raw.items() if k.startswith(b"s:")}

    def clear(self) -> None:
        self.store.clear()
        if self.near is not None:
            self.near.clear()


class MemorySlotCache(SlotCache):
    def __init__(self, store: LiveStore, ttl: float, max_entries: int) -> None:
        super().__init__(store, ttl)
        self.max_entries = max(int(max_entries), 1)
        self._lock = threading.Lock()
        # (subject, key) -> (model, version, stamp, payload, spec)
        self._entries: OrderedDict[tuple[str, str], tuple[str, str, str, str, str]] = OrderedDict()

    def get(self, subject: str, key: str, model: str) -> Lookup:
        version = self.store.state_version(subject)
        entry = self._entries.get((subject, key))
        if entry is None or not self._fresh(entry[:3], model, version):
            return Lookup(None, version)
        return Lookup(entry[3], version)

    def put(self, subject: str, key: str, *, version: int, model: str, payload: str, spec: str) -> bool:
        with self._lock:
            if self.store.state_version(subject) != version:
                return False
            self._entries[(subject, key)] = (str(model), str(version), repr(time.time()), payload, spec)
            self._entries.move_to_end((subject, key))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return True

    def specs(self, subject: str) -> dict[str, str]:
        with self._lock:
            return {key: entry[4] for (who, key), entry in self._entries.items() if who == subject}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@built_from(
    "SLOT_CACHE", "SLOT_CACHE_TTL_SECONDS", "SLOT_CACHE_MAX_ENTRIES", "SLOT_NEAR_CACHE_ENTRIES",
    # rebuilt with the live store it reads the versions from (the settings get_live_store uses)
    "REDIS_URL", "LIVE_STORE", "REDIS_KEY_PREFIX", "LIVE_RECENT_ITEMS", "LIVE_RECENT_SEARCHES",
    "LIVE_TTL_SECONDS", "PRODUCT_COUNTER_HALF_LIFE_HOURS", "DEDUP_TTL_SECONDS",
)  # fmt: skip
def get_slot_cache() -> SlotCache | None:
    """The process-wide slot cache beside the live store, or None when ``SLOT_CACHE`` is off."""
    if not app_settings.SLOT_CACHE:
        return None
    store = get_live_store()
    ttl = float(app_settings.SLOT_CACHE_TTL_SECONDS)
    if isinstance(store, RedisLiveStore):
        return RedisSlotCache(store, ttl, app_settings.SLOT_NEAR_CACHE_ENTRIES)
    return MemorySlotCache(store, ttl, app_settings.SLOT_CACHE_MAX_ENTRIES)
