"""Opting out of (and back into) behaviour recording."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from recommendations import signals
from recommendations.conf import app_settings
from recommendations.models import TrackingPreference
from recommendations.tracking.visitors import get_visitor


def user_opted_out(user: Any) -> bool:
    cached = getattr(user, "_recommendations_opted_out", None)
    if cached is None:
        cached = TrackingPreference.objects.filter(user=user, opted_out=True).exists()
        user._recommendations_opted_out = cached
    return cached


def set_opt_out(request: HttpRequest, response: HttpResponse, *, opted_out: bool) -> None:
    """Record the visitor's choice: a cookie for the browser, a preference row for a user."""
    visitor = get_visitor(request)
    if opted_out:
        response.set_cookie(
            app_settings.OPT_OUT_COOKIE_NAME,
            "1",
            max_age=app_settings.VISITOR_COOKIE_MAX_AGE,
            httponly=True,
            samesite=app_settings.VISITOR_COOKIE_SAMESITE,
            secure=app_settings.VISITOR_COOKIE_SECURE,
        )
    else:
        response.delete_cookie(
            app_settings.OPT_OUT_COOKIE_NAME, samesite=app_settings.VISITOR_COOKIE_SAMESITE
        )
    if visitor.user is not None:
        TrackingPreference.objects.update_or_create(user=visitor.user, defaults={"opted_out": opted_out})
        visitor.user._recommendations_opted_out = opted_out
    visitor.opted_out = opted_out
    signals.consent_changed.send(
        sender=TrackingPreference, visitor_id=visitor.visitor_id, user=visitor.user, opted_out=opted_out
    )
