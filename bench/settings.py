"""Settings for bench/ingest.py: the test project against real PostgreSQL + Redis (Redis mode).

BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/recommendations_bench) and
REDIS_URL (default redis://127.0.0.1:6379/0) name the services."""

import os

import dj_database_url

from tests.settings import *  # noqa: F403 - the same test project, pointed at real services

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/recommendations_bench"),
        conn_max_age=600,
    )
}
ROOT_URLCONF = "bench.urls"
DEBUG = False

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RECOMMENDATIONS_REDIS_URL = REDIS_URL
RECOMMENDATIONS_REDIS_KEY_PREFIX = "recbench:"
# A load generator is one client: per-visitor throttling would measure the throttle.
RECOMMENDATIONS_INGEST_THROTTLE_RATE = None
# The batches hold cart events (10 %), as posted by a shop whose pages report them from the browser.
RECOMMENDATIONS_API_EVENT_KINDS = ("view", "search", "impression", "click", "add_to_cart")

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = REDIS_URL
