"""Redis live store. One Lua script folds a batch of events into the live state atomically, with
an idempotency check per event and, on the ingest path, the append to the event stream, so a
request costs one round trip.

Key layout (``P`` is ``RECOMMENDATIONS_REDIS_KEY_PREFIX``)::

    P stream                  the event stream drained into the database
    P dedup:<event uuid>      idempotency keys (expire after DEDUP_TTL_SECONDS)
    P v:<subject>:items       list "kind|ts|product", newest first, capped
    P v:<subject>:searches    list "ts|query", newest first, capped
    P v:<subject>:cats        hash category -> count
    P p:<product>             hash kind -> decayed value, kind:t -> as-of timestamp
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

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
from recommendations.tracking.schema import EventRow

_APPLY_LUA = """
local prefix = ARGV[1]
local dedup_ttl = tonumber(ARGV[2])
local n_recent = tonumber(ARGV[3])
local n_searches = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local half_life = tonumber(ARGV[6])
local with_stream = ARGV[7] == '1'
local events = cjson.decode(ARGV[8])
local recent_kinds = {%(recent)s}
local counter_kinds = {%(counters)s}
local out = {}
for i, e in ipairs(events) do
  local fresh = redis.call('SET', prefix .. 'dedup:' .. e.id, '1', 'NX', 'EX', dedup_ttl)
  if fresh then
    if with_stream then
      redis.call('XADD', prefix .. 'stream', '*', 'e', e.p)
    end
    local v = prefix .. 'v:' .. e.s
    if e.pid ~= '' and recent_kinds[e.k] then
      redis.call('LPUSH', v .. ':items', e.k .. '|' .. e.ts .. '|' .. e.pid)
      redis.call('LTRIM', v .. ':items', 0, n_recent - 1)
      redis.call('EXPIRE', v .. ':items', ttl)
      for _, c in ipairs(e.c) do
        redis.call('HINCRBYFLOAT', v .. ':cats', c, 1)
      end
      if #e.c > 0 then redis.call('EXPIRE', v .. ':cats', ttl) end
    end
    if e.q ~= '' then
      redis.call('LPUSH', v .. ':searches', e.ts .. '|' .. e.q)
      redis.call('LTRIM', v .. ':searches', 0, n_searches - 1)
      redis.call('EXPIRE', v .. ':searches', ttl)
    end
    if e.pid ~= '' and counter_kinds[e.k] then
      local pk = prefix .. 'p:' .. e.pid
      local cur = redis.call('HMGET', pk, e.k, e.k .. ':t')
      local val = tonumber(cur[1]) or 0
      local since = tonumber(cur[2]) or e.ts
      if e.ts >= since then
        val = val * math.pow(2, -(e.ts - since) / half_life) + 1
        since = e.ts
      else
        val = val + math.pow(2, -(since - e.ts) / half_life)
      end
      redis.call('HSET', pk, e.k, tostring(val), e.k .. ':t', tostring(since))
      redis.call('EXPIRE', pk, ttl)
    end
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
""" % {  # noqa: UP031 - Lua braces would need escaping with format()
    "recent": ", ".join(f"{kind}=true" for kind in sorted(RECENT_KINDS)),
    "counters": ", ".join(f"{kind}=true" for kind in COUNTER_KINDS),
}


def encode_row(row: EventRow) -> str:
    """The stream payload of a row (JSON; read back by ``decode_row``)."""
    return json.dumps(
        {
            "event_id": str(row.event_id),
            "kind": row.kind,
            "created_at": row.created_at.isoformat(),
            "source": row.source,
            "visitor_id": None if row.visitor_id is None else str(row.visitor_id),
            "user_id": row.user_id,
            "product_id": row.product_id,
            "categories": list(row.categories),
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
        },
        separators=(",", ":"),
    )


class RedisLiveStore(LiveStore):
    def __init__(self, *, client: redis.Redis, prefix: str, dedup_ttl: int, **kwargs: float) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.client = client
        self.prefix = prefix
        self.dedup_ttl = dedup_ttl
        self._script = client.register_script(_APPLY_LUA)

    @property
    def stream_key(self) -> str:
        return f"{self.prefix}stream"

    def _visitor_key(self, subject: str) -> str:
        return f"{self.prefix}v:{subject}"

    def apply_and_append(self, rows: Sequence[EventRow], *, append: bool) -> list[bool]:
        """Fold rows into the live state (and append them to the stream when ``append``) in one
        atomic round trip. Returns, per row, whether it was new (False: a duplicate event_id)."""
        if not rows:
            return []
        payload = [
            {
                "id": str(row.event_id),
                "k": row.kind,
                "s": row.subject,
                "pid": row.product_id or "",
                "c": list(row.categories),
                "q": row.query,
                "ts": row.created_at.timestamp(),
                "p": encode_row(row) if append else "",
            }
            for row in rows
        ]
        flags = self._script(
            args=[
                self.prefix,
                self.dedup_ttl,
                self.recent_items,
                self.recent_searches,
                self.ttl_seconds,
                self.half_life_seconds,
                "1" if append else "0",
                json.dumps(payload, separators=(",", ":")),
            ]
        )
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
        src, dst = self._visitor_key(source), self._visitor_key(target)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(f"{dst}:items", f"{dst}:searches", f"{src}:items", f"{src}:searches", f"{src}:cats")
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
        pipe.execute()

    def forget(self, subject: str) -> None:
        key = self._visitor_key(subject)
        self.client.delete(f"{key}:items", f"{key}:searches", f"{key}:cats")

    def clear(self) -> None:
        cursor = 0
        while True:
            cursor, keys = self.client.scan(cursor, match=f"{self.prefix}*", count=1000)
            if keys:
                self.client.delete(*keys)
            if cursor == 0:
                break
