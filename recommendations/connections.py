"""The Redis client shared by every part of the app (None on the embedded defaults), and the
database alias serving reads from."""

from __future__ import annotations

import redis
from django.db import DEFAULT_DB_ALIAS

from recommendations.conf import app_settings, built_from


@built_from("REDIS_URL")
def redis_client() -> redis.Redis | None:
    """The Redis client, or None in embedded mode. Short timeouts: an outage must fail fast so the
    request can fall back to the database."""
    url = app_settings.REDIS_URL
    if not url:
        return None
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30)


def read_database() -> str:
    """The alias serving reads (models, portraits) go to: ``READ_DATABASE`` (a read replica),
    else ``"default"``. Only reads that tolerate replication lag use it: a caller that must see
    its own writes keeps the default connection."""
    return app_settings.READ_DATABASE or DEFAULT_DB_ALIAS
