"""System checks: misconfiguration is reported at start-up with a precise message."""

from __future__ import annotations

import numbers
from difflib import get_close_matches
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from recommendations.conf import PREFIX, app_settings

MIDDLEWARE_PATH = "recommendations.tracking.middleware.RecommendationsMiddleware"


@register(Tags.models)
def check_product_model(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from recommendations.catalogue.products import get_product_model

    if not app_settings.PRODUCT_MODEL:
        return [
            Error(
                "RECOMMENDATIONS_PRODUCT_MODEL is not set.",
                hint="Name your product model in settings, e.g. RECOMMENDATIONS_PRODUCT_MODEL = 'catalog.Product'.",
                id="recommendations.E001",
            )
        ]
    try:
        get_product_model()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Check the app label and model name, and INSTALLED_APPS.",
                id="recommendations.E002",
            )
        ]
    return []


@register()
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    if MIDDLEWARE_PATH not in middleware:
        return [
            Warning(
                "The recommendations middleware is not installed: product views and searches are not recorded.",
                hint=f"Add '{MIDDLEWARE_PATH}' to MIDDLEWARE after AuthenticationMiddleware.",
                id="recommendations.W001",
            )
        ]
    auth = "django.contrib.auth.middleware.AuthenticationMiddleware"
    if auth in middleware and middleware.index(MIDDLEWARE_PATH) < middleware.index(auth):
        return [
            Warning(
                "The recommendations middleware runs before AuthenticationMiddleware, so it cannot see the user.",
                hint=f"Move '{MIDDLEWARE_PATH}' after '{auth}'.",
                id="recommendations.W002",
            )
        ]
    return []


@register()
def check_sqlite_concurrency(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Events written to SQLite opened with ``BEGIN DEFERRED`` (Django's default) are lost to
    "database is locked" under a few concurrent requests; see :mod:`recommendations.sqlite`."""
    from django.db import router

    from recommendations.models import Event
    from recommendations.sqlite import SQLITE_ENGINE, is_configured

    alias = router.db_for_write(Event)
    database = settings.DATABASES.get(alias, {})
    if database.get("ENGINE") != SQLITE_ENGINE or is_configured(database):
        return []
    return [
        Warning(
            f"Events are written to SQLite (database {alias!r}) without "
            "OPTIONS['transaction_mode'] = 'IMMEDIATE': concurrent requests fail with "
            "'database is locked' and their events are lost.",
            hint="Wrap the entry: DATABASES = {'default': recommendations.sqlite.configure_sqlite({...})} "
            "(IMMEDIATE transactions, a 20 s busy timeout, WAL), or use PostgreSQL.",
            id="recommendations.W004",
        )
    ]


@register()
def check_event_weights(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for setting in ("EVENT_WEIGHTS", "CUSTOM_EVENTS"):
        value = getattr(app_settings, setting)
        if not isinstance(value, dict):
            errors.append(
                Error(
                    f"RECOMMENDATIONS_{setting} must be a dict of event kind -> weight.",
                    id="recommendations.E003",
                )
            )
            continue
        for kind, weight in value.items():
            if not isinstance(kind, str) or not kind or len(kind) > 32:
                errors.append(
                    Error(
                        f"RECOMMENDATIONS_{setting}: event kind {kind!r} must be a non-empty string of at most 32 characters.",
                        id="recommendations.E004",
                    )
                )
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or weight != weight:
                errors.append(
                    Error(
                        f"RECOMMENDATIONS_{setting}[{kind!r}] = {weight!r} is not a number.",
                        hint="Weights are floats; negative weights (e.g. remove_from_cart) are allowed.",
                        id="recommendations.E005",
                    )
                )
    if errors:
        return errors
    api_kinds = app_settings.API_EVENT_KINDS
    if isinstance(api_kinds, str) or not isinstance(api_kinds, list | tuple | set | frozenset):
        errors.append(
            Error(
                "RECOMMENDATIONS_API_EVENT_KINDS must be a list of event kinds.",
                id="recommendations.E014",
            )
        )
    else:
        errors.extend(
            Error(
                f"RECOMMENDATIONS_API_EVENT_KINDS names {kind!r}, which is not an event kind.",
                hint="Kinds are those of EVENT_WEIGHTS and CUSTOM_EVENTS.",
                id="recommendations.E014",
            )
            for kind in sorted(set(api_kinds) - set(app_settings.event_weights), key=str)
        )
    for kind, rule in dict(app_settings.TRACKED_VIEWS).items():
        if not isinstance(rule, dict) or rule.get("kind", "view") not in app_settings.event_weights:
            errors.append(
                Error(
                    f"RECOMMENDATIONS_TRACKED_VIEWS[{kind!r}] must be a dict whose 'kind' is a known event kind.",
                    id="recommendations.E006",
                )
            )
    return errors


@register()
def check_engine_backend(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from recommendations.engine import backends

    try:
        backends.resolve(app_settings.ENGINE_BACKEND)
    except (backends.BackendUnavailable, ValueError) as exc:
        return [
            Error(
                f"RECOMMENDATIONS_ENGINE_BACKEND: {exc}",
                hint="'auto' uses implicit when it is installed and numpy otherwise.",
                id="recommendations.E007",
            )
        ]
    return []


@register(Tags.models)
def check_order_model(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A typo in RECOMMENDATIONS_ORDER_MODEL would record no purchase at all."""
    from recommendations.tracking.orders import get_order_model

    try:
        get_order_model()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Name your order model as 'app_label.ModelName' (an installed app), or unset it "
                "and send the order_placed signal instead.",
                id="recommendations.E013",
            )
        ]
    return []


# Dotted-path settings and the class each must name (a subclass of it, for the adapters).
_CLASS_SETTINGS = {
    "PRODUCT_ADAPTER": "recommendations.catalogue.products.ProductAdapter",
    "ORDER_ADAPTER": "recommendations.tracking.orders.OrderAdapter",
    "LIVE_STORE": None,
}


@register()
def check_dotted_paths(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from django.utils.module_loading import import_string

    errors = []
    for name, base_path in _CLASS_SETTINGS.items():
        raw = getattr(settings, PREFIX + name, None)
        if raw is None:
            continue
        try:
            value = import_string(raw) if isinstance(raw, str) else raw
        except ImportError as exc:
            errors.append(
                Error(
                    f"RECOMMENDATIONS_{name} = {raw!r} cannot be imported: {exc}",
                    hint="Give the dotted path of a class, e.g. 'shop.recommendations.ShopAdapter'.",
                    id="recommendations.E008",
                )
            )
            continue
        if base_path and not (isinstance(value, type) and issubclass(value, import_string(base_path))):
            errors.append(
                Error(
                    f"RECOMMENDATIONS_{name} = {raw!r} is not a subclass of {base_path}.",
                    id="recommendations.E008",
                )
            )
    return errors


# Settings with a fixed set of values.
_CHOICES = {
    "IP_MODE": ("none", "truncate", "hash"),
    "ITEMKNN_SIMILARITY": ("cosine", "asymmetric", "bm25"),
}
# Settings that must be a positive number (None allowed where the default is None-able).
_POSITIVE = {
    "MAX_BATCH_SIZE": False,
    "MAX_BODY_BYTES": False,
    "DRAIN_BATCH_SIZE": False,
    "DRAIN_CLAIM_IDLE_SECONDS": False,
    "LIVE_RECENT_ITEMS": False,
    "LIVE_RECENT_SEARCHES": False,
    "LIVE_TTL_SECONDS": False,
    "DEDUP_TTL_SECONDS": False,
    "HEALTH_MAX_BACKLOG": False,
    "INGEST_MAX_BACKLOG": True,
    "INGEST_RETRY_AFTER_SECONDS": False,
    "HEALTH_MAX_EVENT_AGE_SECONDS": False,
    "HEALTH_MAX_HEARTBEAT_AGE_SECONDS": False,
    "DEFAULT_LIMIT": False,
    "NEIGHBOURS": False,
    "RETENTION_DAYS": True,
    "TRAINING_WINDOW_DAYS": True,
    "ATTRIBUTION_WINDOW_HOURS": False,
    "EXPERIMENTS_MIN_SAMPLE": False,
}
#: settings where 0 means "none" (no cookieless ad impressions, no dead letter tolerated, no copy)
_WHOLE_NUMBERS = ("ADS_COOKIELESS_FREQUENCY_CAP", "HEALTH_MAX_DEAD_LETTERS", "SLOT_NEAR_CACHE_ENTRIES")


@register()
def check_values(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    """Values of the wrong shape fail at the first event or the first rebuild; say so at start-up."""
    from recommendations.conf import DEFAULTS

    messages: list[Error | Warning] = []
    for name, choices in _CHOICES.items():
        value = getattr(app_settings, name)
        if value not in choices:
            messages.append(
                Error(
                    f"RECOMMENDATIONS_{name} = {value!r} is not one of {', '.join(map(repr, choices))}.",
                    id="recommendations.E009",
                )
            )
    for name, nullable in _POSITIVE.items():
        value = getattr(app_settings, name)
        if value is None and nullable:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            messages.append(
                Error(
                    f"RECOMMENDATIONS_{name} = {value!r} must be a positive number"
                    + (" (or None)." if nullable else "."),
                    id="recommendations.E010",
                )
            )
    for name in _WHOLE_NUMBERS:
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            messages.append(
                Error(
                    f"RECOMMENDATIONS_{name} = {value!r} must be a whole number, 0 or more.",
                    id="recommendations.E022",
                )
            )
    replica = app_settings.READ_DATABASE
    if replica is not None and replica not in settings.DATABASES:
        messages.append(
            Error(
                f"RECOMMENDATIONS_READ_DATABASE = {replica!r} is not an alias in DATABASES.",
                hint="Add the read replica to DATABASES under that alias, or leave the setting unset.",
                id="recommendations.E021",
            )
        )
    url = app_settings.REDIS_URL
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://"))
    ):
        messages.append(
            Error(
                f"RECOMMENDATIONS_REDIS_URL = {url!r} is not a redis://, rediss:// or unix:// URL.",
                hint="Leave it unset (None) for the embedded in-process store.",
                id="recommendations.E011",
            )
        )
    unknown = sorted(
        name[len(PREFIX) :]
        for name in dir(settings)
        if name.startswith(PREFIX) and name[len(PREFIX) :] not in DEFAULTS
    )
    for name in unknown:
        close = get_close_matches(name, DEFAULTS, n=1)
        messages.append(
            Warning(
                f"RECOMMENDATIONS_{name} is not a setting of the recommendations app; it has no effect.",
                hint=f"Did you mean RECOMMENDATIONS_{close[0]}?" if close else "See recommendations/conf.py.",
                id="recommendations.W003",
            )
        )
    return messages


DOCS_URLS = "recommendations.api.docs_urls"


def _includes(patterns: Any, module: str) -> bool:
    from django.urls import URLResolver

    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            name = pattern.urlconf_name
            if getattr(name, "__name__", name) == module or _includes(pattern.url_patterns, module):
                return True
    return False


@register(Tags.urls)
def check_api_docs(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """The API docs need two apps and drf-spectacular's schema class: without them /api/schema/
    and /api/docs/ answer 500."""
    from django.urls import get_resolver

    try:
        if not _includes(get_resolver().url_patterns, DOCS_URLS):
            return []
    except Exception:  # a broken URLconf is reported by Django's own URL checks
        return []
    errors = [
        Error(
            f"{DOCS_URLS} is included but {app!r} is not in INSTALLED_APPS.",
            hint=f"pip install 'django-realtime-recommendations[api-docs]' and add {app!r} to INSTALLED_APPS.",
            id="recommendations.E012",
        )
        for app in ("drf_spectacular", "drf_spectacular_sidecar")
        if app not in settings.INSTALLED_APPS
    ]
    schema_class = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_SCHEMA_CLASS", "")
    if "drf_spectacular" not in str(getattr(schema_class, "__module__", schema_class)):
        errors.append(
            Error(
                f"{DOCS_URLS} is included but REST_FRAMEWORK['DEFAULT_SCHEMA_CLASS'] is {schema_class!r}.",
                hint="Set REST_FRAMEWORK['DEFAULT_SCHEMA_CLASS'] = 'drf_spectacular.openapi.AutoSchema'.",
                id="recommendations.E012",
            )
        )
    return errors
