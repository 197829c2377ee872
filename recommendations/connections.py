"""The Redis client shared by every part of the app (None on the embedded defaults)."""

from __future__ import annotations

import redis

from recommendations.conf import app_settings, built_from


@built_from("REDIS_URL")
def redis_client() -> redis.Redis | None:
    """The Redis client, or None in embedded mode. Short timeouts: an outage must fail fast so the
    request can fall back to the database."""
    url = app_settings.REDIS_URL
    if not url:
        return None
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30)
