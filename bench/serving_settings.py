"""Settings for bench/serving.py: bench.settings on its own database and Redis key prefix, so it
can run beside bench/ingest.py (which truncates its events and clears its keys) without either
run touching the other's data.

BENCH_SERVING_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/recommendations_bench_serving)
and REDIS_URL (default redis://127.0.0.1:6379/0) name the services."""

import os

import dj_database_url

from bench.settings import *  # noqa: F403 - the same bench project

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get(
            "BENCH_SERVING_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/recommendations_bench_serving"
        ),
        conn_max_age=600,
    )
}
ROOT_URLCONF = "bench.serving_urls"
RECOMMENDATIONS_REDIS_KEY_PREFIX = "recserve:"
