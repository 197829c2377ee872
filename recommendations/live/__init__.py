"""Live state: what each visitor just did and how hot each product is, readable in microseconds.

Public API::

    from recommendations.live import visitor_state, product_counters
    state = visitor_state(user=request.user, visitor_id=visitor_id)
    state.recent_items[0].product_id   # the last product touched

The store is Redis when ``RECOMMENDATIONS_REDIS_URL`` is set, else in process
(``RECOMMENDATIONS_LIVE_STORE`` picks another class).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from recommendations.conf import app_settings, built_from
from recommendations.connections import redis_client
from recommendations.live.base import LiveStore, ProductCounters, RecentItem, VisitorState
from recommendations.live.memory import MemoryLiveStore
from recommendations.live.redis import RedisLiveStore
from recommendations.subjects import subject_key


@built_from(
    "REDIS_URL", "LIVE_STORE", "REDIS_KEY_PREFIX", "LIVE_RECENT_ITEMS", "LIVE_RECENT_SEARCHES",
    "LIVE_TTL_SECONDS", "PRODUCT_COUNTER_HALF_LIFE_HOURS", "DEDUP_TTL_SECONDS",
)  # fmt: skip
def get_live_store() -> LiveStore:
    """The process-wide live store (rebuilt when one of its settings changes; changing another
    setting keeps it, and so keeps the in-process live state)."""
    options = {
        "recent_items": app_settings.LIVE_RECENT_ITEMS,
        "recent_searches": app_settings.LIVE_RECENT_SEARCHES,
        "ttl_seconds": app_settings.LIVE_TTL_SECONDS,
        "half_life_seconds": app_settings.PRODUCT_COUNTER_HALF_LIFE_HOURS * 3600.0,
    }
    client = redis_client()
    store_class = app_settings.LIVE_STORE or (RedisLiveStore if client is not None else MemoryLiveStore)
    if issubclass(store_class, RedisLiveStore):
        if client is None:
            raise ImproperlyConfigured("The Redis live store needs RECOMMENDATIONS_REDIS_URL.")
        return store_class(
            client=client,
            prefix=app_settings.REDIS_KEY_PREFIX,
            dedup_ttl=app_settings.DEDUP_TTL_SECONDS,
            **options,
        )
    return store_class(**options)


def visitor_state(*, user: Any = None, visitor_id: uuid.UUID | str | None = None) -> VisitorState:
    """The live state of a logged-in user (preferred) or an anonymous visitor."""
    user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    return get_live_store().visitor_state(subject_key(user_id, visitor_id))


def product_counters(product_ids: Iterable[str]) -> dict[str, ProductCounters]:
    """Decayed view/cart/purchase counters per product id (missing products count zero)."""
    return get_live_store().product_counters(list(product_ids))


__all__ = [
    "LiveStore",
    "ProductCounters",
    "RecentItem",
    "VisitorState",
    "get_live_store",
    "product_counters",
    "visitor_state",
]
