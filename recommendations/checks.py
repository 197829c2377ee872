"""System checks: misconfiguration is reported at start-up with a precise message."""

from __future__ import annotations

import numbers
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from recommendations.conf import app_settings

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
