"""Sponsored placements: campaigns, their daily spend ledger and (embedded mode) frequency counts.

Money is stored as decimals here; the spend ledgers count integer micro-units (1e-6 of the
currency) so that atomic increments in Redis and in the database are exact.
Serving and charging live in :mod:`recommendations.ads`; these rows are the marketer's input
and the database ledger of the embedded mode.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_target_url(value: str) -> None:
    """An absolute http(s) URL or a site-relative path (``/sale/``); never ``//host`` or ``javascript:``."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return
    URLValidator(schemes=["http", "https"])(value)


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        ACTIVE = "active", _("active")
        PAUSED = "paused", _("paused")
        ENDED = "ended", _("ended")

    class BidType(models.TextChoices):
        CPC = "cpc", _("cost per click")
        CPM = "cpm", _("cost per thousand impressions")

    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    # --- creative: a product of the shop, or a banner -------------------------------------------
    product = models.ForeignKey(
        settings.RECOMMENDATIONS_PRODUCT_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sponsored product"),
        help_text=_("Promote this product; leave empty for a banner."),
    )
    banner_title = models.CharField(_("banner title"), max_length=120, blank=True)
    banner_image_url = models.URLField(_("banner image URL"), max_length=500, blank=True)
    target_url = models.CharField(
        _("banner target URL"),
        max_length=500,
        blank=True,
        validators=[validate_target_url],
        help_text=_("Where a click on the banner goes (http(s) URL or a path such as /sale/)."),
    )
    # --- targeting: an empty list matches everything; several lists must all match ------------
    target_categories = models.JSONField(
        _("target categories"),
        default=list,
        blank=True,
        help_text=_(
            'Category ids, e.g. ["3", "17"]: the page\'s category or product, or the shopper\'s interests.'
        ),
    )
    target_segments = models.JSONField(
        _("target segments"),
        default=list,
        blank=True,
        help_text=_('Portrait segments, e.g. ["loyal", "new"].'),
    )
    target_keywords = models.JSONField(
        _("target search keywords"),
        default=list,
        blank=True,
        help_text=_('Search words, e.g. ["tent", "sleeping bag"]; shown on searches containing one.'),
    )
    target_products = models.JSONField(
        _("target product pages"),
        default=list,
        blank=True,
        help_text=_("Product ids whose pages show the ad."),
    )
    # --- bid, budgets, schedule, cap ------------------------------------------------------------
    bid_type = models.CharField(_("bid type"), max_length=3, choices=BidType.choices, default=BidType.CPC)
    bid_amount = models.DecimalField(
        _("bid"),
        max_digits=10,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text=_("Price of one click (CPC) or of a thousand impressions (CPM)."),
    )
    daily_budget = models.DecimalField(
        _("daily budget"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    total_budget = models.DecimalField(
        _("total budget"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    frequency_cap = models.PositiveIntegerField(
        _("frequency cap per visitor per day"), default=0, help_text=_("0: no cap.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [models.Index(fields=["status", "starts_at", "ends_at"], name="rec_campaign_live")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.product_id is None and not (self.banner_title and self.target_url):
            errors["banner_title"] = _("A banner needs a title and a target URL (or choose a product).")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The campaign must end after it starts.")
        if self.daily_budget and self.total_budget and self.daily_budget > self.total_budget:
            errors["daily_budget"] = _("The daily budget cannot exceed the total budget.")
        for field in ("target_categories", "target_segments", "target_keywords", "target_products"):
            value = getattr(self, field)
            if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
                errors[field] = _('A list of strings, e.g. ["a", "b"].')
        if errors:
            raise ValidationError(errors)


class CampaignSpend(models.Model):
    """One campaign's day: spend (micro-units), impressions and clicks.

    The database ledger of the embedded mode (rows locked with ``select_for_update``). In Redis
    mode the live counters are in Redis and these rows are not written.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="spend")
    day = models.DateField(_("day"))
    spent_micros = models.BigIntegerField(_("spent (micro-units)"), default=0)
    impressions = models.PositiveIntegerField(_("impressions"), default=0)
    clicks = models.PositiveIntegerField(_("clicks"), default=0)

    class Meta:
        verbose_name = _("campaign spend")
        verbose_name_plural = _("campaign spend")
        constraints = [models.UniqueConstraint(fields=["campaign", "day"], name="rec_campaign_spend_day")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day}: {self.spent_micros / 1_000_000:.2f}"


class AdFrequency(models.Model):
    """Embedded mode: how often a campaign was shown to one visitor on one day (frequency cap)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(_("subject"), max_length=80)
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("ad frequency")
        verbose_name_plural = _("ad frequencies")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "subject", "day"], name="rec_ad_frequency_day")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.subject} {self.day}: {self.count}"


class AdClick(models.Model):
    """Embedded mode: one charged click per served impression (a reloaded redirect is free)."""

    impression_id = models.CharField(_("impression id"), max_length=32, unique=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    charged_micros = models.BigIntegerField(_("charged (micro-units)"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ad click")
        verbose_name_plural = _("ad clicks")

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.impression_id}"
