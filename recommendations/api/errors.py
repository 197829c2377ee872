"""The API's error body: ``{"error": code, "detail": message, ...}`` with a status."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response


def error_response(code: str, message: str, http_status: int, **extra: Any) -> Response:
    return Response({"error": code, "detail": message, **extra}, status=http_status)
