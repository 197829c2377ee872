"""The analytics dashboard: a custom admin page listed in the admin index (through the
``AnalyticsDashboard`` proxy), for staff with ``recommendations.view_analyticsdashboard``.

Events per day by kind, CTR and conversion per slot and per algorithm, the most engaged-with
products and the freshness of each active model. Numbers come from
:mod:`recommendations.analytics.dashboard`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from recommendations.admin import charts
from recommendations.analytics import dashboard as analytics
from recommendations.catalogue.products import product_titles
from recommendations.models import AnalyticsDashboard

PERIODS = (7, 30, 90)


def dashboard_context(days: int) -> dict[str, Any]:
    now = timezone.now()
    since = now - timedelta(days=days)
    first_day = since.date() + timedelta(days=1)
    day_list = [first_day + timedelta(days=i) for i in range((now.date() - first_day).days + 1)]
    per_day = analytics.events_per_day(first_day, now.date())
    series = {kind: [counts.get(d, 0) for d in day_list] for kind, counts in per_day.items()}
    performance = analytics.slot_performance(since, now)
    top = analytics.top_products(now - timedelta(days=min(days, 7)))
    titles = product_titles([row["product_id"] for row in top])
    models = analytics.model_freshness()
    for row in models:
        row["age"] = now - row["finished_at"]
        row["seconds"] = row["metrics"].get("seconds", {})
        row["other_metrics"] = {
            k: v
            for k, v in row["metrics"].items()
            if k not in {"seconds", "started"} and not isinstance(v, dict)
        }
        row["nested_metrics"] = {
            k: v for k, v in row["metrics"].items() if k != "seconds" and isinstance(v, dict)
        }
    return {
        "days": days,
        "periods": PERIODS,
        "totals": {kind: sum(values) for kind, values in sorted(series.items())},
        "events_chart": charts.panels(
            "chart-events",
            series,
            title="Events per day by kind (each kind on its own scale)",
            labels=[d.strftime("%d %b") for d in day_list],
        ),
        "performance": performance,
        "top_products": [{**row, "title": titles.get(row["product_id"], row["product_id"])} for row in top],
        "models": models,
        "attribution_hours": analytics.app_settings.ATTRIBUTION_WINDOW_HOURS,
    }


@admin.register(AnalyticsDashboard)
class AnalyticsDashboardAdmin(admin.ModelAdmin):
    template = "admin/recommendations/dashboard.html"

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
        from django.core.exceptions import PermissionDenied

        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days = 30
        days = days if days in PERIODS else 30
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Recommendations analytics"),
            **dashboard_context(days),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.template, context)
