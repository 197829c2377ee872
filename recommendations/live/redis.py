"""Redis live store. One Lua script folds a batch of events into the live state atomically, with
an idempotency check per event and, on the ingest path, the append to the event stream, so a
request costs one round trip.

Key layout (``P`` is ``RECOMMENDATIONS_REDIS_KEY_PREFIX``)::

    P stream                  the event stream drained into the database
    P dedup:<event uuid>      idempotency keys (expire after DEDUP_TTL_SECONDS)
    P v:{<subject>}:items     list "kind|ts|product", newest first, capped
    P v:{<subject>}:searches  list "ts|query", newest first, capped
    P v:{<subject>}:cats      hash category -> count
    P v:{<subject>}:slots     hash: "ver" -> the live-state version (bumped by every change of the
                              visitor's state), and the serving cache's entries (see
                              recommendations.serving.cache), so one HMGET reads both
    P p:<product>             hash kind -> decayed value, kind:t -> as-of timestamp

Every key of one visitor carries the hash tag ``{<subject>}`` (so do the slot-refresh and
portrait flags of that visitor, and the ad ledger's keys carry ``{ad:<campaign>}``): on a Redis
Cluster the keys one operation touches together live in one slot (``subject_keys``; checked by
tests/live/test_key_slots.py). The ingest script below is the exception: it folds a batch of any
visitors and products into one atomic call and builds their keys itself, so it needs one Redis
node (see docs/scaling.md).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence

import redis

from recommendations.live.base import (
    COUNTER_KINDS,
    RECENT_KINDS,
    LiveStore,
    ProductCounters,
    RecentItem,
    VisitorState,
    decayed,
)
from recommendations.schema import EventRow

# ARGV: prefix, dedup ttl, recent items, recent searches, ttl, half-life, "1" to append to the
# stream, the events as a JSON array of [id, kind, subject, product, [categories], query, ts], then
# one stream payload per event (empty when not appending). Lists are trimmed and keys given their
# expiry once per call, and product counters are read and written once per product and kind, so a
# batch costs about three commands per event.
_APPLY_LUA = """
local prefix = ARGV[1]
local dedup_ttl = tonumber(ARGV[2])
local n_recent = tonumber(ARGV[3])
local n_searches = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local half_life = tonumber(ARGV[6])
local with_stream = ARGV[7] == '1'
local events = cjson.decode(ARGV[8])
local recent_kinds = {RECENT_KINDS}
local counter_kinds = {COUNTER_KINDS}
local out = {}
local item_lists, search_lists, cat_hashes, versions = {}, {}, {}, {}
local counters, counter_order = {}, {}
for i, e in ipairs(events) do
  local id, k, s, pid, cats, q, ts_text = e[1], e[2], e[3], e[4], e[5], e[6], e[7]
  local fresh = redis.call('SET', prefix .. 'dedup:' .. id, '1', 'NX', 'EX', dedup_ttl)
  if fresh then
    if with_stream then
      redis.call('XADD', prefix .. 'stream', '*', 'e', ARGV[8 + i])
    end
    local v = prefix .. 'v:{' .. s .. '}'
    if pid ~= '' and recent_kinds[k] then
      redis.call('LPUSH', v .. ':items', k .. '|' .. ts_text .. '|' .. pid)
      item_lists[v .. ':items'] = true
      versions[v .. ':slots'] = true
      for _, c in ipairs(cats) do
        redis.call('HINCRBYFLOAT', v .. ':cats', c, 1)
      end
      if #cats > 0 then cat_hashes[v .. ':cats'] = true end
    end
    if q ~= '' then
      redis.call('LPUSH', v .. ':searches', ts_text .. '|' .. q)
      search_lists[v .. ':searches'] = true
      versions[v .. ':slots'] = true
    end
    if pid ~= '' and counter_kinds[k] then
      local ts = tonumber(ts_text)
      local slot = pid .. '|' .. k
      local c = counters[slot]
      if not c then
        local cur = redis.call('HMGET', prefix .. 'p:' .. pid, k, k .. ':t')
        c = {pid, k, tonumber(cur[1]) or 0, tonumber(cur[2]) or ts}
        counters[slot] = c
        counter_order[#counter_order + 1] = slot
      end
      if ts >= c[4] then
        c[3] = c[3] * math.pow(2, -(ts - c[4]) / half_life) + 1
        c[4] = ts
      else
        c[3] = c[3] + math.pow(2, -(c[4] - ts) / half_life)
      end
    end
    out[i] = 1
  else
    out[i] = 0
  end
end
for key in pairs(item_lists) do
  redis.call('LTRIM', key, 0, n_recent - 1)
  redis.call('EXPIRE', key, ttl)
end
for key in pairs(search_lists) do
  redis.call('LTRIM', key, 0, n_searches - 1)
  redis.call('EXPIRE', key, ttl)
end
for key in pairs(cat_hashes) do
  redis.call('EXPIRE', key, ttl)
end
for key in pairs(versions) do
  redis.call('HINCRBY', key, 'ver', 1)
  redis.call('EXPIRE', key, ttl)
end
local products = {}
for _, slot in ipairs(counter_order) do
  local c = counters[slot]
  local pk = prefix .. 'p:' .. c[1]
  redis.call('HSET', pk, c[2], tostring(c[3]), c[2] .. ':t', tostring(c[4]))
  products[pk] = true
end
for pk in pairs(products) do
  redis.call('EXPIRE', pk, ttl)
end
return out
""".replace("{RECENT_KINDS}", "{" + ", ".join(f"{kind}=true" for kind in sorted(RECENT_KINDS)) + "}").replace(
    "{COUNTER_KINDS}", "{" + ", ".join(f"{kind}=true" for kind in COUNTER_KINDS) + "}"
)

_compact_json = json.JSONEncoder(separators=(",", ":")).encode


def encode_row(row: EventRow, visitor_id: str | None = None) -> str:
    """The stream payload of a row (JSON; read back by ``decode_row``). ``visitor_id``: the
    row's visitor id as text when the caller has it already."""
    if visitor_id is None and row.visitor_id is not None:
        visitor_id = str(row.visitor_id)
    return _compact_json(
        {
            "event_id": str(row.event_id),
            "kind": row.kind,
            "created_at": row.created_at.isoformat(),
            "source": row.source,
            "visitor_id": visitor_id,
            "user_id": row.user_id,
            "product_id": row.product_id,
            "categories": row.categories,
            "query": row.query,
            "result_count": row.result_count,
            "quantity": row.quantity,
            "unit_price": None if row.unit_price is None else str(row.unit_price),
            "order_id": row.order_id,
            "slot": row.slot,
            "position": row.position,
            "token": row.token,
            "ip": row.ip,
            "device": row.device,
            "context": row.context,
        }
    )


class RedisLiveStore(LiveStore):
    def __init__(self, *, client: redis.Redis, prefix: str, dedup_ttl: int, **kwargs: float) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.client = client
        self.prefix = prefix
        self.dedup_ttl = dedup_ttl
        self._script = client.register_script(_APPLY_LUA)
        # told the slots keys this process changes (the slot cache's per-process copy drops them)
        self.on_change: Callable[[list[str]], None] | None = None

    def _changed(self, subjects: Iterable[str]) -> None:
        if self.on_change is not None:
            self.on_change([self.slots_key(subject) for subject in subjects])

    @property
    def stream_key(self) -> str:
        return f"{self.prefix}stream"

    def _visitor_key(self, subject: str) -> str:
        # the subject is the hash tag: every key of one visitor is in one cluster slot
        return f"{self.prefix}v:{{{subject}}}"

    def subject_keys(self, subject: str) -> list[str]:
        """Every live-state key of ``subject`` (one hash slot)."""
        key = self._visitor_key(subject)
        return [f"{key}:items", f"{key}:searches", f"{key}:cats", f"{key}:slots"]

    def apply_and_append(self, rows: Sequence[EventRow], *, append: bool) -> list[bool]:
        """Fold rows into the live state (and append them to the stream when ``append``) in one
        atomic round trip. Returns, per row, whether it was new (False: a duplicate event_id)."""
        if not rows:
            return []
        # A batch usually comes from one visitor: format its ids once, not per event.
        texts: dict[tuple[str | None, uuid.UUID | None], tuple[str, str | None]] = {}
        events, payloads = [], []
        for row in rows:
            ids = (row.user_id, row.visitor_id)
            text = texts.get(ids)
            if text is None:
                visitor_text = None if row.visitor_id is None else str(row.visitor_id)
                text = texts[ids] = (row.subject, visitor_text)
            subject, visitor_text = text
            events.append(
                [
                    str(row.event_id),
                    row.kind,
                    subject,
                    row.product_id or "",
                    row.categories,
                    row.query,
                    repr(row.created_at.timestamp()),
                ]
            )
            payloads.append(encode_row(row, visitor_text) if append else "")
        try:
            flags = self._script(
                args=[
                    self.prefix,
                    self.dedup_ttl,
                    self.recent_items,
                    self.recent_searches,
                    self.ttl_seconds,
                    self.half_life_seconds,
                    "1" if append else "0",
                    _compact_json(events),
                    *payloads,
                ]
            )
        finally:
            self._changed(texts_subject for texts_subject, _visitor in texts.values())
        return [bool(flag) for flag in flags]

    def apply(self, rows: Sequence[EventRow]) -> None:
        self.apply_and_append(rows, append=False)

    def visitor_state(self, subject: str) -> VisitorState:
        key = self._visitor_key(subject)
        pipe = self.client.pipeline(transaction=False)
        pipe.lrange(f"{key}:items", 0, -1)
        pipe.lrange(f"{key}:searches", 0, -1)
        pipe.hgetall(f"{key}:cats")
        raw_items, raw_searches, raw_cats = pipe.execute()
        items = []
        for raw in raw_items:
            kind, ts, pid = raw.decode().split("|", 2)
            items.append(RecentItem(pid, kind, float(ts)))
        searches = []
        for raw in raw_searches:
            ts, query = raw.decode().split("|", 1)
            searches.append((query, float(ts)))
        cats = {k.decode(): float(v) for k, v in raw_cats.items()}
        return VisitorState(items, searches, cats)

    def product_counters(self, product_ids: Sequence[str]) -> dict[str, ProductCounters]:
        pipe = self.client.pipeline(transaction=False)
        for pid in product_ids:
            pipe.hgetall(f"{self.prefix}p:{pid}")
        now = time.time()
        out = {}
        for pid, raw in zip(product_ids, pipe.execute(), strict=True):
            data = {k.decode(): float(v) for k, v in raw.items()}
            values = [
                decayed(data.get(kind, 0.0), data.get(f"{kind}:t", now), now, self.half_life_seconds)
                for kind in COUNTER_KINDS
            ]
            out[pid] = ProductCounters(*values)
        return out

    def merge(self, source: str, target: str) -> None:
        old = self.visitor_state(source)
        if old.is_empty:
            return
        new = self.visitor_state(target)
        items = sorted([*new.recent_items, *old.recent_items], key=lambda i: i.timestamp, reverse=True)
        searches = sorted([*new.recent_searches, *old.recent_searches], key=lambda s: s[1], reverse=True)
        dst = self._visitor_key(target)
        # One transaction per visitor (each in its own slot): the target's merged state first,
        # then the source's keys go.
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(f"{dst}:items", f"{dst}:searches")
        pipe.hincrby(f"{dst}:slots", "ver", 1)  # the target's state changed: its cached slots are stale
        pipe.expire(f"{dst}:slots", self.ttl_seconds)
        if items:
            pipe.rpush(
                f"{dst}:items",
                *[f"{i.kind}|{i.timestamp}|{i.product_id}" for i in items[: self.recent_items]],
            )
            pipe.expire(f"{dst}:items", self.ttl_seconds)
        if searches:
            pipe.rpush(f"{dst}:searches", *[f"{ts}|{q}" for q, ts in searches[: self.recent_searches]])
            pipe.expire(f"{dst}:searches", self.ttl_seconds)
        for category, count in old.category_interest.items():
            pipe.hincrbyfloat(f"{dst}:cats", category, count)
        if old.category_interest:
            pipe.expire(f"{dst}:cats", self.ttl_seconds)
        try:
            pipe.execute()
            self.client.delete(*self.subject_keys(source))
        finally:
            self._changed([source, target])

    def forget(self, subject: str) -> None:
        try:
            self.client.delete(*self.subject_keys(subject))
        finally:
            self._changed([subject])

    def slots_key(self, subject: str) -> str:
        """The hash holding the subject's live-state version (field ``ver``) and cached slots."""
        return f"{self._visitor_key(subject)}:slots"

    def state_version(self, subject: str) -> int:
        raw = self.client.hget(self.slots_key(subject), "ver")
        return 0 if raw is None else int(raw)

    def clear(self) -> None:
        cursor = 0
        while True:
            cursor, keys = self.client.scan(cursor, match=f"{self.prefix}*", count=1000)
            if keys:
                self.client.delete(*keys)
            if cursor == 0:
                break
