"""The append-only behaviour log every model is trained from."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EventQuerySet(models.QuerySet):
    def for_subject(self, *, user: Any = None, visitor_id: Any = None) -> EventQuerySet:
        """Events of a logged-in user, or of an anonymous visitor."""
        if user is not None and getattr(user, "is_authenticated", True):
            return self.filter(user=user)
        return self.filter(visitor_id=visitor_id, user__isnull=True)


class Event(models.Model):
    """One thing a shopper did. Rows are never edited, except that a visitor's anonymous rows are
    attached to the user when they log in (``user`` goes from NULL to the user)."""

    class Source(models.TextChoices):
        MIDDLEWARE = "middleware", _("middleware")
        API = "api", _("HTTP API")
        SIGNAL = "signal", _("signal")
        ORDER_HOOK = "order_hook", _("order hook")
        IMPORT = "import", _("import")

    id = models.BigAutoField(primary_key=True)
    # Idempotency key: a retry of the same event (same client event_id) is stored once.
    event_id = models.UUIDField(_("event id"), unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=32)
    created_at = models.DateTimeField(_("created at"))
    visitor_id = models.UUIDField(_("visitor id"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # No database constraint: the log outlives products that are deleted from the catalogue.
    product = models.ForeignKey(
        settings.RECOMMENDATIONS_PRODUCT_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    query = models.CharField(_("search query"), max_length=200, blank=True)
    result_count = models.PositiveIntegerField(_("result count"), null=True, blank=True)
    quantity = models.IntegerField(_("quantity"), null=True, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2, null=True, blank=True)
    order_id = models.CharField(_("order id"), max_length=64, blank=True)
    slot = models.CharField(_("slot"), max_length=64, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), null=True, blank=True)
    token = models.CharField(_("recommendation token"), max_length=512, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    # Truncated or keyed-hash IP: never the raw address.
    ip = models.CharField(_("ip (truncated or hashed)"), max_length=64, blank=True)
    device = models.CharField(_("device"), max_length=16, blank=True)
    context = models.JSONField(_("context"), default=dict, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        permissions = [
            ("view_any_recommendations", _("Can read any shopper's recommendations and history")),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], name="rec_event_user_time"),
            models.Index(fields=["visitor_id", "created_at"], name="rec_event_visitor_time"),
            models.Index(fields=["product", "created_at"], name="rec_event_product_time"),
            models.Index(fields=["created_at"], name="rec_event_time"),
            models.Index(fields=["kind", "created_at"], name="rec_event_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.product_id or self.query} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Events are append-only; record a new event instead of editing one.")
        super().save(*args, **kwargs)
