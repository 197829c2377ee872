"""The shopper portrait (用户画像): one row per user, or per anonymous visitor while active.

Rows are derived data: :mod:`recommendations.portraits.build` rebuilds them from the event log
(debounced after a subject's events, and nightly in bulk) and they can be dropped at any time.
Read them through :func:`recommendations.portraits.get_portrait`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from recommendations.subjects import subject_key


class Portrait(models.Model):
    class Segment(models.TextChoices):
        NEW = "new", _("new")
        ACTIVE = "active", _("active")
        LOYAL = "loyal", _("loyal")
        BIG_SPENDER = "big_spender", _("big spender")
        AT_RISK = "at_risk", _("at risk")
        CHURNED = "churned", _("churned")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="recommendations_portrait",
    )
    visitor_id = models.UUIDField(_("visitor id"), null=True, blank=True, unique=True)
    segment = models.CharField(_("segment"), max_length=16, choices=Segment.choices, db_index=True)
    n_events = models.PositiveIntegerField(_("events"), default=0)
    sessions = models.PositiveIntegerField(_("sessions"), default=0)
    first_seen = models.DateTimeField(_("first seen"), null=True, blank=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True, db_index=True)
    recency_days = models.FloatField(_("days since last purchase"), null=True, blank=True)
    frequency = models.PositiveIntegerField(_("orders (RFM window)"), default=0)
    monetary = models.DecimalField(_("revenue (RFM window)"), max_digits=14, decimal_places=2, default=0)
    r_score = models.PositiveSmallIntegerField(_("R"), default=0)
    f_score = models.PositiveSmallIntegerField(_("F"), default=0)
    m_score = models.PositiveSmallIntegerField(_("M"), default=0)
    lifetime_value = models.DecimalField(_("lifetime value"), max_digits=14, decimal_places=2, default=0)
    price_band = models.CharField(_("price band"), max_length=16, blank=True)
    purchasing_power = models.FloatField(_("purchasing power"), null=True, blank=True)
    median_price = models.FloatField(_("median price"), null=True, blank=True)
    # [{"id": ..., "label": ..., "score": 0..1}, ...] strongest first
    categories = models.JSONField(_("category affinities"), default=list, blank=True)
    brands = models.JSONField(_("brand affinities"), default=list, blank=True)
    next_categories = models.JSONField(_("predicted next categories"), default=list, blank=True)
    # [[term, count], ...]
    search_terms = models.JSONField(_("top search terms"), default=list, blank=True)
    # {"hours": [24], "weekdays": [7], "daily": [N], "daily_start": iso date, "devices": {}, "kinds": {}}
    activity = models.JSONField(_("activity"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("portrait")
        verbose_name_plural = _("portraits")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(visitor_id__isnull=False),
                name="rec_portrait_has_subject",
            )
        ]

    def __str__(self) -> str:
        return str(self.user) if self.user_id is not None else f"visitor {self.visitor_id}"

    @property
    def subject(self) -> str:
        """The live-state key: ``u:<user id>`` or ``v:<visitor id>``."""
        return subject_key(self.user_id, self.visitor_id)


class AnalyticsDashboard(Portrait):
    """Not data of its own: gives the analytics dashboard its entry in the admin index and its
    own permission (``recommendations.view_analyticsdashboard``)."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("analytics dashboard")
        verbose_name_plural = _("analytics dashboard")
