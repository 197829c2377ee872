from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication


class BeaconSessionAuthentication(SessionAuthentication):
    """Session auth without the CSRF token, for the event beacon only.

    The ingest endpoint accepts ``application/json`` bodies only, which a cross-site form cannot
    send without a CORS preflight, so the CSRF token (which sendBeacon cannot carry) is not needed.
    """

    def enforce_csrf(self, request: Any) -> None:
        return None
