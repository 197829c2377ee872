"""Campaigns in admin: the marketer's form, with spend, impressions and CTR read from the ledger."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from recommendations.ads.reporting import performance
from recommendations.models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "bid_type",
        "bid_amount",
        "daily_budget",
        "total_budget",
        "spent",
        "ctr",
    )
    list_filter = ("status", "bid_type")
    search_fields = ("name", "banner_title")
    raw_id_fields = ("product",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ("performance_summary",)
    actions = ("activate", "pause")
    fieldsets = (
        (None, {"fields": ("name", "status")}),
        (_("Creative"), {"fields": ("product", "banner_title", "banner_image_url", "target_url")}),
        (
            _("Targeting (empty: everyone)"),
            {"fields": ("target_categories", "target_segments", "target_keywords", "target_products")},
        ),
        (
            _("Bid, budget and delivery"),
            {
                "fields": (
                    "bid_type",
                    "bid_amount",
                    "daily_budget",
                    "total_budget",
                    "starts_at",
                    "ends_at",
                    "frequency_cap",
                )
            },
        ),
        (_("Performance"), {"fields": ("performance_summary",)}),
    )

    @admin.display(description=_("spent"))
    def spent(self, obj: Campaign) -> str:
        perf = performance(obj)
        return f"{perf.spent_total:.2f} (today {perf.spent_today:.2f})"

    @admin.display(description=_("CTR"))
    def ctr(self, obj: Campaign) -> str:
        perf = performance(obj)
        return "-" if perf.ctr is None else f"{perf.ctr:.2%} ({perf.clicks}/{perf.impressions})"

    @admin.display(description=_("performance"))
    def performance_summary(self, obj: Campaign) -> SafeString:
        if obj.pk is None:
            return mark_safe("-")
        return mark_safe(  # noqa: S308 - autoescaped template output
            render_to_string("recommendations/ads/admin_performance.html", {"perf": performance(obj)})
        )

    @admin.action(description=_("Activate selected campaigns"))
    def activate(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:  # save(): clears the serving cache
            campaign.status = Campaign.Status.ACTIVE
            campaign.save(update_fields=["status", "updated_at"])
        self.message_user(request, _("Activated."), messages.SUCCESS)

    @admin.action(description=_("Pause selected campaigns"))
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            campaign.status = Campaign.Status.PAUSED
            campaign.save(update_fields=["status", "updated_at"])
        self.message_user(request, _("Paused."), messages.SUCCESS)
