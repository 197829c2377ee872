"""Cache headers of the API: every answer is about the current shopper unless a view says otherwise.

A response a shared cache (CDN, proxy) may keep must be the same for everyone, so the default is
``private, no-store`` with ``Vary: Cookie, Authorization`` on every status, errors included. A view
that is truly the same for everyone (``trending/``) sets its own ``Cache-Control``, which is kept.
"""

from __future__ import annotations

from typing import Any

from django.utils.cache import patch_vary_headers

PRIVATE = "private, no-store"


def mark_private(response: Any) -> Any:
    """``private, no-store`` unless the view chose a header; vary on who asks."""
    if not response.has_header("Cache-Control"):
        response["Cache-Control"] = PRIVATE
    if "public" not in response["Cache-Control"]:
        patch_vary_headers(response, ("Cookie", "Authorization"))
    return response


class PrivateResponses:
    """API view mixin: every response goes through :func:`mark_private`."""

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        return mark_private(response)
