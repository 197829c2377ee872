"""The API's error body: ``{"error": code, "detail": message, ...}`` with a status."""

from __future__ import annotations

from typing import Any

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
