from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TrackingPreference(models.Model):
    """A logged-in user's choice about behaviour recording (anonymous visitors use a cookie)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recommendations_preference"
    )
    opted_out = models.BooleanField(_("opted out of recording"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("tracking preference")
        verbose_name_plural = _("tracking preferences")

    def __str__(self) -> str:
        return f"{self.user} ({'opted out' if self.opted_out else 'recording'})"
