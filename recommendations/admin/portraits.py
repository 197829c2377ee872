"""Portraits in the admin: a filtered list and, per shopper, a read-only page with inline SVG
charts, the "why" inspector and the actions rebuild / export JSON / erase.

Only staff with ``recommendations.view_portrait`` see portraits; erasing needs
``recommendations.delete_portrait`` too. Rows are derived data, so nothing here edits them:
rebuild recomputes, erase calls the privacy service (which removes everything about the shopper).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from recommendations.admin import charts
from recommendations.admin.inspector import why
from recommendations.models import Portrait
from recommendations.subjects import Subject

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class LastActiveFilter(admin.SimpleListFilter):
    title = _("activity")
    parameter_name = "active"
    DAYS = {"1": 1, "7": 7, "30": 30}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("1", _("active today")),
            ("7", _("active in the last 7 days")),
            ("30", _("active in the last 30 days")),
            ("idle", _("idle for more than 30 days")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value in self.DAYS:
            return queryset.filter(last_seen__gte=timezone.now() - timedelta(days=self.DAYS[value]))
        if value == "idle":
            return queryset.filter(last_seen__lt=timezone.now() - timedelta(days=30))
        return queryset


class SubjectFilter(admin.SimpleListFilter):
    title = _("shopper")
    parameter_name = "who"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("user", _("logged-in users")), ("visitor", _("anonymous visitors"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "user":
            return queryset.filter(user__isnull=False)
        if self.value() == "visitor":
            return queryset.filter(user__isnull=True)
        return queryset


def _subject_kwargs(portrait: Portrait) -> dict[str, Any]:
    return {"user": portrait.user} if portrait.user_id is not None else {"visitor_id": portrait.visitor_id}


def _export(portrait: Portrait) -> dict[str, Any]:
    from recommendations.privacy.service import export_user_data

    return export_user_data(**_subject_kwargs(portrait))


def _erase(portrait: Portrait) -> dict[str, int]:
    from recommendations.privacy.service import erase_user_data

    return erase_user_data(**_subject_kwargs(portrait))


def _json_download(data: Any, filename: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def portrait_charts(portrait: Portrait) -> dict[str, Any]:
    """The page's charts, rendered server side."""
    activity = portrait.activity or {}
    daily = activity.get("daily", [])
    start = date.fromisoformat(activity["daily_start"]) if activity.get("daily_start") else None
    labels = [(start + timedelta(days=i)).strftime("%d %b") for i in range(len(daily))] if start else []
    return {
        "categories": charts.hbars(
            "chart-categories",
            [(c["label"], c["score"]) for c in portrait.categories],
            title="Category affinity",
            maximum=1.0,
        ),
        "brands": charts.hbars(
            "chart-brands",
            [(b["label"], b["score"]) for b in portrait.brands],
            title="Brand affinity",
            maximum=1.0,
        ),
        "next": charts.hbars(
            "chart-next", [(c["label"], c["score"]) for c in portrait.next_categories], title="Predicted next"
        ),
        "daily": charts.columns("chart-activity", daily, title="Events per day", labels=labels, every=7),
        "hours": charts.columns(
            "chart-hours",
            activity.get("hours", []),
            title="Active hours (UTC)",
            labels=[str(h) for h in range(24)],
            every=3,
        ),
        "weekdays": charts.columns(
            "chart-weekdays",
            activity.get("weekdays", []),
            title="Active weekdays",
            labels=WEEKDAYS,
            width=220,
        ),
        "rfm": charts.rfm("chart-rfm", portrait.r_score, portrait.f_score, portrait.m_score),
    }


@admin.register(Portrait)
class PortraitAdmin(admin.ModelAdmin):
    list_display = (
        "shopper",
        "segment",
        "last_seen",
        "n_events",
        "sessions",
        "lifetime_value",
        "rfm",
        "price_band",
    )
    list_filter = ("segment", LastActiveFilter, SubjectFilter, "price_band")
    search_fields = ("user__username", "user__email", "=visitor_id")
    list_select_related = ("user",)
    ordering = ("-last_seen",)
    date_hierarchy = None
    actions = ("rebuild_selected", "export_selected", "erase_selected")
    detail_template = "admin/recommendations/portrait/detail.html"
    erase_template = "admin/recommendations/portrait/erase_confirmation.html"

    @admin.display(description=_("shopper"), ordering="user__username")
    def shopper(self, obj: Portrait) -> str:
        return str(obj)

    @admin.display(description=_("RFM"))
    def rfm(self, obj: Portrait) -> str:
        return f"{obj.r_score}-{obj.f_score}-{obj.m_score}" if obj.frequency else "-"

    # Derived data: never added or edited by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # "erase" removes the shopper's data, not just this row
        return found

    def get_urls(self) -> list:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/rebuild/", wrap(self.rebuild_view), name=f"{prefix}_rebuild"),
            path("<path:object_id>/export/", wrap(self.export_view), name=f"{prefix}_export"),
            path("<path:object_id>/erase/", wrap(self.erase_view), name=f"{prefix}_erase"),
            *super().get_urls(),
        ]

    def _get(self, request: HttpRequest, object_id: str, permission: str = "view") -> Portrait:
        portrait = get_object_or_404(Portrait.objects.select_related("user"), pk=object_id)
        allowed = getattr(self, f"has_{permission}_permission")(request, portrait)
        if not allowed:
            raise PermissionDenied
        return portrait

    def _url(self, name: str, *args: Any) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=args)

    # --- the portrait page ---------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        portrait = self._get(request, object_id)
        visitor = Subject(
            user_id=None if portrait.user_id is None else str(portrait.user_id),
            visitor_id=None if portrait.user_id is not None else portrait.visitor_id,
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Portrait of %(who)s") % {"who": portrait},
            "portrait": portrait,
            "original": portrait,
            "charts": portrait_charts(portrait),
            "why": why(visitor),
            "activity": portrait.activity or {},
            "can_erase": self.has_delete_permission(request, portrait),
            "rebuild_url": self._url("rebuild", portrait.pk),
            "export_url": self._url("export", portrait.pk),
            "erase_url": self._url("erase", portrait.pk),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.detail_template, context)

    def rebuild_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from recommendations import portraits

        portrait = self._get(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(self._url("change", object_id))
        rebuilt = portraits.rebuild(**_subject_kwargs(portrait))
        if rebuilt is None:
            self.message_user(
                request, _("Nothing left to portray: the portrait was removed."), messages.WARNING
            )
            return HttpResponseRedirect(self._url("changelist"))
        self.message_user(request, _("Portrait rebuilt."), messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", rebuilt.pk))

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        portrait = self._get(request, object_id)
        return _json_download(_export(portrait), f"shopper-{portrait.pk}.json")

    def erase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        portrait = self._get(request, object_id, "delete")
        if request.method == "POST":
            removed = _erase(portrait)
            self.message_user(
                request, _("Erased %(who)s: %(removed)s") % {"who": portrait, "removed": removed}
            )
            return HttpResponseRedirect(self._url("changelist"))
        return self._confirm(request, [portrait], single=True)

    def _confirm(
        self, request: HttpRequest, portraits: list[Portrait], *, single: bool = False
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Erase everything about these shoppers?"),
            "portraits": portraits,
            "single": single,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.erase_template, context)

    # --- list actions --------------------------------------------------------------------------

    @admin.action(description=_("Rebuild selected portraits now"), permissions=["view"])
    def rebuild_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        from recommendations import portraits

        kept = sum(
            portraits.rebuild(**_subject_kwargs(p)) is not None for p in queryset.select_related("user")
        )
        self.message_user(request, _("%(n)d portraits rebuilt.") % {"n": kept}, messages.SUCCESS)

    @admin.action(description=_("Export selected shoppers' data as JSON"), permissions=["view"])
    def export_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        data = {p.subject: _export(p) for p in queryset.select_related("user")}
        return _json_download(data, "shoppers.json")

    @admin.action(description=_("Erase selected shoppers' data…"), permissions=["delete"])
    def erase_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        selected = list(queryset.select_related("user"))
        if request.POST.get("confirm") != "yes":
            return self._confirm(request, selected)
        for portrait in selected:
            _erase(portrait)
        self.message_user(request, _("Erased %(n)d shoppers.") % {"n": len(selected)}, messages.SUCCESS)
        return None
