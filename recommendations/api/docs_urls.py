"""OpenAPI schema and interactive docs (needs the ``api-docs`` extra: drf-spectacular and its
sidecar, so the docs page loads no CDN asset). The whole setup (the README shows it; the
``recommendations.E012`` system check names whatever is missing)::

    INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]
    REST_FRAMEWORK = {..., "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    # urls.py
    path("api/", include("recommendations.api.docs_urls")),   # /api/schema/ and /api/docs/

The schema is titled and versioned from the installed package unless ``SPECTACULAR_SETTINGS``
says otherwise, and the docs page takes Swagger UI from the sidecar unless the project chose
another ``SWAGGER_UI_DIST``.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.settings import SPECTACULAR_DEFAULTS
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

DISTRIBUTION = "django-realtime-recommendations"


def package_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # pragma: no cover - a source checkout not installed
        return "unknown"


def schema_settings() -> dict[str, Any]:
    """Our title, version and description, where the project's SPECTACULAR_SETTINGS are silent."""
    ours = {
        "TITLE": "django-realtime-recommendations API",
        "VERSION": package_version(),
        "DESCRIPTION": (
            "Event ingest, consent, personal data and recommendation slots of "
            "django-realtime-recommendations. Personal endpoints answer for the current visitor "
            "(the rec_vid cookie) or the logged-in user."
        ),
    }
    project = getattr(settings, "SPECTACULAR_SETTINGS", {})
    return {key: value for key, value in ours.items() if key not in project}


def _uses_sidecar(name: str) -> bool:
    configured = getattr(settings, "SPECTACULAR_SETTINGS", {}).get(name, SPECTACULAR_DEFAULTS[name])
    return configured in ("SIDECAR", SPECTACULAR_DEFAULTS[name])


class SchemaView(SpectacularAPIView):
    """The schema, without itself in it (the docs page is not part of the API either)."""

    @extend_schema(exclude=True)
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)


class SwaggerView(SpectacularSwaggerView):
    """Swagger UI from the sidecar app (no CDN) unless the project configured another source."""

    title = schema_settings().get("TITLE") or SpectacularSwaggerView.title

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        if _uses_sidecar("SWAGGER_UI_DIST"):
            from django.templatetags.static import static

            return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")
        return SpectacularSwaggerView._swagger_ui_resource(filename)

    @staticmethod
    def _swagger_ui_favicon() -> str:
        if _uses_sidecar("SWAGGER_UI_FAVICON_HREF"):
            from django.templatetags.static import static

            return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")
        return SpectacularSwaggerView._swagger_ui_favicon()


urlpatterns = [
    path("schema/", SchemaView.as_view(custom_settings=schema_settings()), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="schema"), name="docs"),
]
