from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class VisitorLink(models.Model):
    """An anonymous visitor id that logged in as a user; its history was merged into the user.

    Kept so a late event from the old visitor id (a beacon sent after login) still lands on the
    user, and so experiment assignments stay stable across anonymous -> logged in.
    """

    visitor_id = models.UUIDField(_("visitor id"), unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visitor link")
        verbose_name_plural = _("visitor links")

    def __str__(self) -> str:
        return f"{self.visitor_id} -> {self.user}"
