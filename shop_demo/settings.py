"""Settings for the demo shop.

Everything has a working default, so ``python manage.py migrate && python manage.py seed_demo &&
python manage.py runserver`` needs no configuration. Environment variables switch to real services:

``DATABASE_URL``       any dj-database-url URL (default: SQLite ``db.sqlite3`` at the repo root)
``REDIS_URL``          Redis for the live store (default: unset, the app's in-process store)
``CELERY_BROKER_URL``  a broker for a real worker (default: unset, tasks run eagerly in-process)
``DJANGO_DEBUG``       "0"/"false" to turn debug off (default: on, this is a demo)
``DJANGO_SECRET_KEY``  (default: a development key, never use it in production)
``ALLOWED_HOSTS``      comma-separated (default: localhost, 127.0.0.1, [::1], testserver)

Static files: with DEBUG on, ``runserver`` and gunicorn both serve them (see ``urls.py``). With
DEBUG off, run ``python manage.py collectstatic`` and let the web server serve ``STATIC_ROOT``.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url

from recommendations.schedules import beat_schedule
from recommendations.sqlite import configure_sqlite

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "django-insecure-demo-shop-key-change-me-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
if "testserver" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append("testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    # The API docs at /api/docs/ (the app's api-docs extra): schema generator and Swagger UI assets.
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "recommendations",
    "shop_demo.shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "recommendations.tracking.middleware.RecommendationsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop_demo.urls"
WSGI_APPLICATION = "shop_demo.wsgi.application"
ASGI_APPLICATION = "shop_demo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop_demo.shop.context_processors.shop",
            ],
        },
    },
]

# On SQLite, configure_sqlite() adds IMMEDIATE transactions, a busy timeout and WAL: without them
# concurrent requests fail with "database is locked" and lose their events (recommendations/sqlite.py).
DATABASES = {
    "default": configure_sqlite(
        dj_database_url.config(
            default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
            conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        )
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tests get a file database (one per process), not an in-memory one: the browser test's live
    # server then gives each request thread its own connection, as runserver does. A shared
    # in-memory connection fails concurrent requests with "database table is locked".
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"shop-demo-test-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:home"
LOGOUT_REDIRECT_URL = "shop:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- recommendations --------------------------------------------------------------------------

RECOMMENDATIONS_PRODUCT_MODEL = "shop.Product"
RECOMMENDATIONS_PRODUCT_ADAPTER = "shop_demo.shop.adapters.ShopProductAdapter"
# Prices and revenue in the admin (the shop's own templates write "$" too).
RECOMMENDATIONS_CURRENCY = "USD"
# The middleware records a product view / a search for these URL names; everything else the shop
# reports through the signals in ``shop_demo/shop/services.py``.
RECOMMENDATIONS_TRACKED_VIEWS = {
    "shop:product_detail": {"kind": "view", "product_kwarg": "pk"},
    "shop:search": {"kind": "search", "query_param": "q"},
}
# None: the app's embedded in-process live store (fine for one process, e.g. runserver).
RECOMMENDATIONS_REDIS_URL = os.environ.get("REDIS_URL") or None

# The OpenAPI schema at /api/schema/ and the interactive docs at /api/docs/.
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}

# --- Celery -----------------------------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or None
if CELERY_BROKER_URL is None:
    # No broker: run tasks in-process so the demo works with nothing else running.
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# A worker rides out a Redis outage (docs/deployment.md): it retries the broker forever (the
# default gives up, and exits, after 100 attempts, about 50 minutes), also at start-up, and
# cancels running late-acknowledged tasks whose messages Redis will deliver again.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Periodic model rebuilds and stream draining, run by `celery -A shop_demo worker -B` with a broker.
CELERY_BEAT_SCHEDULE = {**beat_schedule()}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "recommendations": {"level": os.environ.get("RECOMMENDATIONS_LOG_LEVEL", "INFO")},
        "shop_demo": {"level": "INFO"},
    },
}
