"""OpenAPI annotations that cost nothing when drf-spectacular is not installed (optional extra)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
    from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
except ImportError:  # pragma: no cover - exercised only without the api-docs extra

    def extend_schema(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return lambda view: view

    extend_schema_field = extend_schema

    class OpenApiParameter:  # type: ignore[no-redef]
        HEADER = "header"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            """Ignored: there is no schema to describe."""

    OpenApiResponse = OpenApiParameter  # type: ignore[misc,assignment]
else:

    class BeaconSessionScheme(OpenApiAuthenticationExtension):
        """The ingest endpoint's session cookie authentication (no CSRF token: JSON only)."""

        target_class = "recommendations.api.authentication.BeaconSessionAuthentication"
        name = "beaconSession"

        def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
            from django.conf import settings

            return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}

    class EventBodyScheme(OpenApiSerializerExtension):
        """``POST events/``'s body: the three forms it accepts, as one ``oneOf``."""

        target_class = "recommendations.api.events.EventBodySerializer"

        def get_name(self, *args: Any, **kwargs: Any) -> str:
            return "EventBody"

        def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
            from recommendations.api.events import EventBatchSerializer, EventSerializer
            from recommendations.conf import app_settings

            event = auto_schema.resolve_serializer(EventSerializer, direction).ref
            batch = auto_schema.resolve_serializer(EventBatchSerializer, direction).ref
            size = app_settings.MAX_BATCH_SIZE
            return {
                "description": (
                    f'One event object, a JSON array of 1 to {size} events, or {{"events": [...]}} with '
                    "such an array. A batch is all-or-nothing; more events than that is a 413."
                ),
                "oneOf": [
                    event,
                    {"type": "array", "items": event, "minItems": 1, "maxItems": size},
                    batch,
                ],
            }


__all__ = ["OpenApiParameter", "OpenApiResponse", "extend_schema", "extend_schema_field"]
