"""Settings for bench/scale.py: the test project on its own PostgreSQL database and Redis db.

SCALE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/rec_scale) and SCALE_REDIS_URL
(default redis://127.0.0.1:6379/6) name the services; every key the run writes starts with
``recscale:``."""

import os

import dj_database_url

from tests.settings import *  # noqa: F403 - the same test project, pointed at real services

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rec_scale"), conn_max_age=600
    )
}
DEBUG = False
RECOMMENDATIONS_REDIS_URL = os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/6")
RECOMMENDATIONS_REDIS_KEY_PREFIX = "recscale:"
RECOMMENDATIONS_SERVING_RAISE_ERRORS = True
CELERY_TASK_ALWAYS_EAGER = True
