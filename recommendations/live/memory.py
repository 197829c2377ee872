"""In-process live store: the embedded default (one process; state is lost on restart)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence

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

# Live-state versions come from one process-wide counter, so a visitor forgotten (or evicted) and
# seen again never reuses a version that cached slots were computed at.
_versions = itertools.count(1)


class _Visitor:
    __slots__ = ("categories", "items", "searches", "touched", "version")

    def __init__(self, n_items: int, n_searches: int) -> None:
        self.items: deque[RecentItem] = deque(maxlen=n_items)
        self.searches: deque[tuple[str, float]] = deque(maxlen=n_searches)
        self.categories: dict[str, float] = {}
        self.touched = time.time()
        self.version = 0


class MemoryLiveStore(LiveStore):
    """Thread-safe dictionaries with an LRU bound on the number of visitors kept."""

    max_visitors = 200_000

    def __init__(self, **kwargs: float) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self._visitors: OrderedDict[str, _Visitor] = OrderedDict()
        # product id -> kind -> (value, as-of timestamp)
        self._products: dict[str, dict[str, tuple[float, float]]] = {}

    def _visitor(self, subject: str) -> _Visitor:
        visitor = self._visitors.get(subject)
        if visitor is None:
            visitor = _Visitor(self.recent_items, self.recent_searches)
            self._visitors[subject] = visitor
            if len(self._visitors) > self.max_visitors:
                self._visitors.popitem(last=False)
        else:
            self._visitors.move_to_end(subject)
        return visitor

    def apply(self, rows: Sequence[EventRow]) -> None:
        with self._lock:
            for row in rows:
                ts = row.created_at.timestamp()
                visitor = self._visitor(row.subject)
                visitor.touched = time.time()
                if row.product_id and row.kind in RECENT_KINDS:
                    visitor.items.appendleft(RecentItem(row.product_id, row.kind, ts))
                    for category in row.categories:
                        visitor.categories[category] = visitor.categories.get(category, 0.0) + 1.0
                    visitor.version = next(_versions)
                if row.query:
                    visitor.searches.appendleft((row.query, ts))
                    visitor.version = next(_versions)
                if row.product_id and row.kind in COUNTER_KINDS:
                    counters = self._products.setdefault(row.product_id, {})
                    value, since = counters.get(row.kind, (0.0, ts))
                    counters[row.kind] = (decayed(value, since, ts, self.half_life_seconds) + 1.0, ts)

    def visitor_state(self, subject: str) -> VisitorState:
        with self._lock:
            visitor = self._visitors.get(subject)
            if visitor is None or time.time() - visitor.touched > self.ttl_seconds:
                return VisitorState()
            return VisitorState(list(visitor.items), list(visitor.searches), dict(visitor.categories))

    def state_version(self, subject: str) -> int:
        visitor = self._visitors.get(subject)  # one dict read: atomic under the GIL, no lock needed
        return 0 if visitor is None else visitor.version

    def product_counters(self, product_ids: Sequence[str]) -> dict[str, ProductCounters]:
        now = time.time()
        out: dict[str, ProductCounters] = {}
        with self._lock:
            for pid in product_ids:
                counters = self._products.get(pid, {})
                values = [
                    decayed(*counters.get(kind, (0.0, now)), now, self.half_life_seconds)
                    for kind in COUNTER_KINDS
                ]
                out[pid] = ProductCounters(*values)
        return out

    def merge(self, source: str, target: str) -> None:
        with self._lock:
            old = self._visitors.pop(source, None)
            if old is None:
                return
            new = self._visitor(target)
            items = sorted([*new.items, *old.items], key=lambda item: item.timestamp, reverse=True)
            new.items = deque(items[: self.recent_items], maxlen=self.recent_items)
            searches = sorted([*new.searches, *old.searches], key=lambda s: s[1], reverse=True)
            new.searches = deque(searches[: self.recent_searches], maxlen=self.recent_searches)
            for category, count in old.categories.items():
                new.categories[category] = new.categories.get(category, 0.0) + count
            new.touched = time.time()
            new.version = next(_versions)

    def forget(self, subject: str) -> None:
        with self._lock:
            self._visitors.pop(subject, None)

    def clear(self) -> None:
        with self._lock:
            self._visitors.clear()
            self._products.clear()
