"""Process-wide objects built from settings once (adapter, caches, Redis client, live store).

``reset()`` drops them; it runs when a ``RECOMMENDATIONS_*`` setting changes, so tests using
``override_settings`` get fresh objects.
"""

from __future__ import annotations

import threading
from functools import cache

import redis

from recommendations.conf import app_settings
from recommendations.live.base import LiveStore
from recommendations.products import ProductAdapter, ProductInfoCache

_lock = threading.Lock()


@cache
def adapter() -> ProductAdapter:
    return app_settings.PRODUCT_ADAPTER()


@cache
def product_cache() -> ProductInfoCache:
    return ProductInfoCache(ttl=app_settings.PRODUCT_INFO_TTL_SECONDS)


@cache
def redis_client() -> redis.Redis | None:
    """The Redis client, or None in embedded mode. Short timeouts: an outage must fail fast so the
    request can fall back to the database."""
    url = app_settings.REDIS_URL
    if not url:
        return None
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30)


@cache
def live_store() -> LiveStore:
    options = {
        "recent_items": app_settings.LIVE_RECENT_ITEMS,
        "recent_searches": app_settings.LIVE_RECENT_SEARCHES,
        "ttl_seconds": app_settings.LIVE_TTL_SECONDS,
        "half_life_seconds": app_settings.PRODUCT_COUNTER_HALF_LIFE_HOURS * 3600.0,
    }
    store_class = app_settings.LIVE_STORE
    client = redis_client()
    if store_class is None:
        if client is not None:
            from recommendations.live.redis import RedisLiveStore

            store_class = RedisLiveStore
        else:
            from recommendations.live.memory import MemoryLiveStore

            store_class = MemoryLiveStore
    from recommendations.live.redis import RedisLiveStore

    if issubclass(store_class, RedisLiveStore):
        if client is None:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured("The Redis live store needs RECOMMENDATIONS_REDIS_URL.")
        return store_class(
            client=client,
            prefix=app_settings.REDIS_KEY_PREFIX,
            dedup_ttl=app_settings.DEDUP_TTL_SECONDS,
            **options,
        )
    return store_class(**options)


# Which settings each object is built from: changing another setting keeps it (and, for the
# in-process live store, keeps the live state).
_DEPENDS_ON = {
    adapter: {"PRODUCT_MODEL", "PRODUCT_ADAPTER"},
    product_cache: {"PRODUCT_MODEL", "PRODUCT_ADAPTER", "PRODUCT_INFO_TTL_SECONDS"},
    redis_client: {"REDIS_URL"},
    live_store: {
        "REDIS_URL", "LIVE_STORE", "REDIS_KEY_PREFIX", "LIVE_RECENT_ITEMS", "LIVE_RECENT_SEARCHES",
        "LIVE_TTL_SECONDS", "PRODUCT_COUNTER_HALF_LIFE_HOURS", "DEDUP_TTL_SECONDS",
    },
}  # fmt: skip


def reset(setting: str | None = None) -> None:
    """Drop the objects built from ``setting`` (a name without the prefix), or all of them."""
    with _lock:
        for getter, names in _DEPENDS_ON.items():
            if setting is None or setting in names:
                getter.cache_clear()
