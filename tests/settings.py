"""Settings for the library's own test suite: a small test app with a UUID-keyed product.

PostgreSQL and Redis are used when DATABASE_URL / REDIS_URL are set (CI sets both); otherwise the
suite runs on the embedded defaults (SQLite, in-process live store, eager Celery)."""

import os

import dj_database_url

from recommendations.sqlite import configure_sqlite

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "recommendations",
    "tests.testapp",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "recommendations.tracking.middleware.RecommendationsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"

# Embedded default SQLite unless the suite is pointed at PostgreSQL; the live-server and worker
# tests need a file (not in-memory) database so another process can see it.
# configure_sqlite(): the settings a shop on SQLite is told to use (IMMEDIATE transactions, WAL).
DATABASES = {
    "default": configure_sqlite(
        dj_database_url.parse(
            os.environ.get(
                "DATABASE_URL", "sqlite:///" + os.path.join(os.path.dirname(__file__), "test.sqlite3")
            )
        )
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One file per test process, so concurrent runs (several developers, CI passes) never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(os.path.dirname(__file__), f"test-db-{os.getpid()}.sqlite3")
    }

# A read replica for the READ_DATABASE tests: in the test run a mirror of "default" (Django's
# TEST MIRROR: the same database through a connection of its own, so it sees committed rows only,
# as a replica does). Nothing reads from it unless RECOMMENDATIONS_READ_DATABASE names it.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

RECOMMENDATIONS_PRODUCT_MODEL = "testapp.Item"
RECOMMENDATIONS_PRODUCT_ADAPTER = "tests.testapp.adapters.ItemAdapter"
RECOMMENDATIONS_TRACKED_VIEWS = {
    "item_detail": {"kind": "view", "product_kwarg": "pk"},
    "item_detail_async": {"kind": "view", "product_kwarg": "pk"},
    "broken": {"kind": "view", "product_kwarg": "pk"},
    "search": {"kind": "search", "query_param": "q"},
}
RECOMMENDATIONS_CUSTOM_EVENTS = {"wishlist": 2.0}
# Tests that exercise Redis opt in with override_settings(RECOMMENDATIONS_REDIS_URL=...).
# Processes the integration tests start (Celery workers) get Redis mode, the test's private key
# prefix and drain tuning through these RECOMMENDATIONS_TEST_* variables; unset, nothing changes.
RECOMMENDATIONS_REDIS_URL = os.environ.get("RECOMMENDATIONS_TEST_REDIS_URL") or None
RECOMMENDATIONS_REDIS_KEY_PREFIX = os.environ.get("RECOMMENDATIONS_TEST_KEY_PREFIX", "rec:")
RECOMMENDATIONS_DRAIN_CLAIM_IDLE_SECONDS = float(
    os.environ.get("RECOMMENDATIONS_TEST_CLAIM_IDLE_SECONDS", "60")
)
RECOMMENDATIONS_DRAIN_BATCH_SIZE = int(os.environ.get("RECOMMENDATIONS_TEST_DRAIN_BATCH_SIZE", "2000"))
TEST_REDIS_URL = os.environ.get("REDIS_URL")
if os.environ.get("RECOMMENDATIONS_TEST_INGEST_MAX_BACKLOG"):  # a server started by a test
    RECOMMENDATIONS_INGEST_MAX_BACKLOG = int(os.environ["RECOMMENDATIONS_TEST_INGEST_MAX_BACKLOG"])

# A worker started with RECOMMENDATIONS_TEST_CELERY_EAGER=0 sends what it enqueues (a rebuild's
# chord) through the broker, as in production; everything else runs tasks in process.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("RECOMMENDATIONS_TEST_CELERY_EAGER", "1") != "0"
# A worker's self-evaluation search (0: every candidate's default only, fast): the search is a
# count of evaluations, so a test that sets one gets the same choice on any machine load.
RECOMMENDATIONS_SELF_EVALUATION_BUDGET_SECONDS = float(
    os.environ.get("RECOMMENDATIONS_TEST_SELF_EVALUATION_BUDGET", "600")
)
RECOMMENDATIONS_SELF_EVALUATION_MAX_EVALUATIONS = int(
    os.environ.get("RECOMMENDATIONS_TEST_SELF_EVALUATION_MAX_EVALUATIONS", "0")
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
# Test workers as docs/deployment.md configures production ones.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

REST_FRAMEWORK = {
    "DEFAULT_THROTTLE_RATES": {},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "django-realtime-recommendations",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
}
LOGGING_CONFIG = None
