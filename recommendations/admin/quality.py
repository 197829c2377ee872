"""The model-quality page: per context the blend the rebuild chose, its validation NDCG next to
popularity and the previous versions, over time (inline SVG). A custom admin page listed in the
admin index through :class:`~recommendations.models.ModelQuality`, for staff with
``recommendations.view_modelquality``. Numbers come from :mod:`recommendations.analytics.quality`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from recommendations.admin import charts
from recommendations.analytics import quality
from recommendations.models import ModelQuality


@admin.register(ModelQuality)
class ModelQualityAdmin(admin.ModelAdmin):
    template = "admin/recommendations/quality.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        return [
            path("", self.admin_site.admin_view(self.changelist_view), name="{}_{}_changelist".format(*info))
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        contexts = quality.quality_by_context()
        for row in contexts:
            history = row["history"]
            row["chart"] = charts.lines(
                f"quality-{row['context']}",
                {_("chosen blend"): history["chosen"], _("popularity"): history["popularity"]},
                title=f"{row['label']}: validation NDCG@{row['current'].k} per model version",
                labels=history["labels"],
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Recommendation model quality"),
            "contexts": contexts,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.template, context)
