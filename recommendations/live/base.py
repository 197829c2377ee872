"""The live store interface and its value types."""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from recommendations.schema import PRODUCT_KINDS, EventRow

# Kinds kept in a visitor's recent items (impressions are too noisy to be "recent activity").
RECENT_KINDS = PRODUCT_KINDS - {"impression"}
# Product counters kept per product.
COUNTER_KINDS = ("view", "add_to_cart", "purchase")


@dataclass(frozen=True, slots=True)
class RecentItem:
    product_id: str
    kind: str
    timestamp: float


@dataclass(slots=True)
class VisitorState:
    """Newest first. ``category_interest`` counts product events per category id (whole path)."""

    recent_items: list[RecentItem] = field(default_factory=list)
    recent_searches: list[tuple[str, float]] = field(default_factory=list)
    category_interest: dict[str, float] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.recent_items or self.recent_searches or self.category_interest)


@dataclass(frozen=True, slots=True)
class ProductCounters:
    views: float = 0.0
    carts: float = 0.0
    purchases: float = 0.0


def decayed(value: float, since: float, now: float, half_life_seconds: float) -> float:
    """``value`` recorded at ``since`` as seen at ``now`` under exponential decay."""
    if value == 0.0 or now <= since:
        return value
    return value * math.pow(2.0, -(now - since) / half_life_seconds)


class LiveStore(abc.ABC):
    """Per-visitor recent activity and per-product decayed counters."""

    def __init__(
        self, *, recent_items: int, recent_searches: int, ttl_seconds: int, half_life_seconds: float
    ) -> None:
        self.recent_items = recent_items
        self.recent_searches = recent_searches
        self.ttl_seconds = ttl_seconds
        self.half_life_seconds = half_life_seconds

    @abc.abstractmethod
    def apply(self, rows: Sequence[EventRow]) -> None:
        """Fold new events into the live state (rows already de-duplicated)."""

    @abc.abstractmethod
    def visitor_state(self, subject: str) -> VisitorState: ...

    @abc.abstractmethod
    def state_version(self, subject: str) -> int:
        """A number that changes whenever the subject's state changes (new recent items or
        searches, a merge, an erasure); 0 for a subject without state. Cached slots computed at
        one version are stale at any other."""

    @abc.abstractmethod
    def product_counters(self, product_ids: Sequence[str]) -> dict[str, ProductCounters]: ...

    @abc.abstractmethod
    def merge(self, source: str, target: str) -> None:
        """Move ``source``'s state into ``target`` (anonymous visitor -> user on login)."""

    @abc.abstractmethod
    def forget(self, subject: str) -> None:
        """Erase a subject's state."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Erase everything (tests, demo reset)."""
