from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from recommendations.conf import app_settings
from recommendations.tracking.visitors import client_address, get_visitor


class VisitorEventThrottle(SimpleRateThrottle):
    """Ingest requests per visitor (user, else visitor cookie), rate ``INGEST_THROTTLE_RATE``."""

    scope = "recommendations_events"

    def get_rate(self) -> str | None:
        return app_settings.INGEST_THROTTLE_RATE

    def get_cache_key(self, request: Any, view: Any) -> str:
        visitor = get_visitor(request._request)
        ident = f"u{visitor.user_id}" if visitor.user_id else f"v{visitor.visitor_id}"
        if visitor.set_cookie and not visitor.user_id:  # no cookie yet: fall back to the client address
            ident = f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def get_ident(self, request: Any) -> str:
        """The client address the project trusts (:func:`client_address`). DRF's own reads
        ``X-Forwarded-For`` whenever ``NUM_PROXIES`` is unset, so a cookieless client could
        write a new address into the header on every request and never be throttled."""
        return client_address(request._request)
