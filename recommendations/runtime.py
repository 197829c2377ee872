"""Process-wide objects built from settings, in one place for callers that want them all: the
product adapter and its cache, the Redis client and the live store.

Each object is owned (and cached) by its own module; ``reset()`` drops them. It runs when a
``RECOMMENDATIONS_*`` setting changes, so tests using ``override_settings`` get fresh objects.
"""

from __future__ import annotations

from recommendations.catalogue.products import get_adapter as adapter
from recommendations.catalogue.products import product_cache
from recommendations.conf import clear_built as reset
from recommendations.connections import redis_client
from recommendations.live import get_live_store as live_store

__all__ = ["adapter", "live_store", "product_cache", "redis_client", "reset"]
