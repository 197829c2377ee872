"""The API's error body: ``{"error": code, "detail": message, ...}`` with a status, for every
error of every endpoint (DRF's own: a bad query parameter, 403, 404, 405, 415, 429, a parse error
included), and its OpenAPI description."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers
from rest_framework.response import Response

# A body of many bad items or fields answers with the first MAX_ERRORS of them and
# ``"more_errors": n``: the 400 stays short, whatever the request held.
MAX_ERRORS = 50


def error_response(code: str, message: str, http_status: int, **extra: Any) -> Response:
    errors = extra.get("errors")
    if errors is not None and len(errors) > MAX_ERRORS:
        extra["errors"] = errors[:MAX_ERRORS]
        extra["more_errors"] = len(errors) - MAX_ERRORS
    return Response({"error": code, "detail": message, **extra}, status=http_status)


def _messages(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_messages(item) for item in value)
    if isinstance(value, dict):
        return " ".join(f"{key}: {_messages(item)}" for key, item in value.items())
    return str(value)


def field_errors(detail: Any) -> list[dict[str, str]]:
    """A ``ValidationError``'s detail as ``[{"field", "message"}]`` (``non_field_errors`` for a
    message about no one field)."""
    if isinstance(detail, dict):
        return [{"field": str(field), "message": _messages(messages)} for field, messages in detail.items()]
    return [{"field": "non_field_errors", "message": _messages(detail)}]


class UniformErrors:
    """API view mixin: DRF's error answers in the API's own shape. A query parameter that fails
    validation is ``400 {"error": "invalid", "detail": ..., "errors": [{"field", "message"}]}``
    (DRF would answer ``{"<field>": [...]}``); every other DRF error keeps its status and headers
    (``Retry-After``, ``Allow``) and answers ``{"error": <DRF's code>, "detail": <message>}``."""

    def handle_exception(self, exc: Exception) -> Any:
        response = super().handle_exception(exc)  # type: ignore[misc]
        data = getattr(response, "data", None)
        if isinstance(data, dict) and "error" in data:
            return response  # already ours
        if isinstance(exc, exceptions.ValidationError):
            errors = field_errors(exc.detail)
            response.data = {
                "error": "invalid",
                "detail": "Invalid request: "
                + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
                "errors": errors[:MAX_ERRORS],
            }
            if len(errors) > MAX_ERRORS:
                response.data["more_errors"] = len(errors) - MAX_ERRORS
        elif isinstance(exc, exceptions.APIException):
            response.data = {"error": str(exc.default_code), "detail": _messages(exc.detail)}
        elif isinstance(data, dict) and "detail" in data:  # Http404, Django's PermissionDenied
            code = "not_found" if response.status_code == 404 else "permission_denied"
            response.data = {"error": code, "detail": str(data["detail"])}
        return response


class ErrorItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(required=False, help_text="Which event of the batch (events/ only).")
    field = serializers.CharField(
        help_text="The field or parameter; non_field_errors for the item as a whole."
    )
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API."""

    error = serializers.CharField(
        help_text="A short code: invalid, empty, too_large, batch_too_large, not_found, permission_denied, "
        "not_authenticated, parse_error, unsupported_media_type, method_not_allowed, throttled."
    )
    detail = serializers.CharField(help_text="What went wrong, for a human.")
    errors = ErrorItemSerializer(many=True, required=False, help_text="One entry per bad field (at most 50).")
    more_errors = serializers.IntegerField(required=False, help_text="How many errors were left out.")


try:
    from drf_spectacular.utils import OpenApiResponse
except ImportError:  # pragma: no cover - optional api-docs extra

    def OpenApiResponse(**kwargs: Any) -> None:
        return None


def error(description: str) -> Any:
    """An error response of the schema: the API's error body, described."""
    return OpenApiResponse(response=ErrorSerializer, description=description)


URI_TOO_LONG = OpenApiResponse(
    description="The request line (path and query) is longer than the server accepts (gunicorn: "
    "4094 bytes by default; a percent-encoded character takes up to 12). Answered by the server, "
    "not as JSON."
)
