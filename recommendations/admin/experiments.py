"""Experiments in admin: variants inline, results with significance, and the note against peeking."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import IntegrityError, models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from recommendations.catalogue.money import money
from recommendations.experiments.report import (
    CONFIDENCE,
    ExperimentReport,
    VariantResult,
    experiment_report,
    min_sample,
)
from recommendations.models import Experiment, Variant


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def _pts(value: float) -> str:
    return f"{100 * value:+.2f} pts"


def _p(value: float) -> str:
    return "p < 0.0001" if value < 0.0001 else f"p = {value:.4f}"


def _rate_cell(
    rate: float | None, interval: tuple[float, float], test: Any, note: str, is_control: bool
) -> dict[str, str]:
    cell = {"value": "-" if rate is None else _pct(rate), "interval": "", "versus": "", "note": note}
    if note:
        return cell
    cell["interval"] = f"{int(CONFIDENCE * 100)}% CI {_pct(interval[0])} to {_pct(interval[1])}"
    if is_control:
        cell["versus"] = "control"
    elif test is not None:
        cell["versus"] = f"{_pts(test.diff)} [{_pts(test.ci_low)}, {_pts(test.ci_high)}], {_p(test.p_value)}"
    return cell


def _revenue_cell(v: VariantResult) -> dict[str, str]:
    value = v.revenue_per_visitor
    cell = {
        "value": "-" if value is None else money(value),
        "interval": "",
        "versus": "",
        "note": v.revenue_note,
    }
    if v.revenue_note:
        return cell
    if v.is_control:
        cell["versus"] = "control"
    elif v.revenue_test is not None:
        t = v.revenue_test
        cell["versus"] = (
            f"{money(t.diff, signed=True)} [{money(t.ci_low, signed=True)}, "
            f"{money(t.ci_high, signed=True)}], {_p(t.p_value)}"
        )
    return cell


def results_context(report: ExperimentReport) -> dict[str, Any]:
    """The results table as display strings: percentages, intervals and tests, or a note saying
    the variant has not enough data yet (never an interval of one visitor, never "nan")."""
    rows = [
        {
            "name": v.name,
            "visitors": v.visitors,
            "impressions": v.impressions,
            "clicks": v.clicks,
            "cells": [
                _rate_cell(v.ctr, v.ctr_interval, v.ctr_test, v.ctr_note, v.is_control),
                _rate_cell(
                    v.conversion_rate,
                    v.conversion_interval,
                    v.conversion_test,
                    v.conversion_note,
                    v.is_control,
                ),
                _revenue_cell(v),
            ],
        }
        for v in report.variants
    ]
    return {"report": report, "rows": rows, "min_sample": min_sample()}


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 2
    fields = ("name", "weight", "recipe", "ranking_policy")
    # Narrower than the admin's 20em text inputs, so the four columns fit a 1280 px screen with
    # the navigation sidebar open.
    formfield_overrides = {models.CharField: {"widget": forms.TextInput(attrs={"size": 18})}}


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("name", "slot", "status", "started_at", "ended_at")
    list_filter = ("status",)
    search_fields = ("name", "slot")
    inlines = (VariantInline,)
    readonly_fields = ("results",)
    actions = ("start", "stop")
    fields = ("name", "slot", "status", "salt", "started_at", "ended_at", "results")

    @admin.display(description=_("results"))
    def results(self, obj: Experiment) -> SafeString:
        if obj.pk is None:
            return mark_safe("-")
        return mark_safe(  # noqa: S308 - autoescaped template output
            render_to_string(
                "recommendations/ads/admin_experiment.html", results_context(experiment_report(obj))
            )
        )

    @admin.action(description=_("Start selected experiments"))
    def start(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset.exclude(status=Experiment.Status.RUNNING):
            experiment.status = Experiment.Status.RUNNING
            experiment.started_at = experiment.started_at or timezone.now()
            experiment.ended_at = None
            try:
                experiment.save()
            except IntegrityError:
                self.message_user(
                    request,
                    _("Another experiment is already running on %s.") % experiment.slot,
                    messages.ERROR,
                )
                return

    @admin.action(description=_("Stop selected experiments"))
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset.filter(status=Experiment.Status.RUNNING):
            experiment.status = Experiment.Status.STOPPED
            experiment.ended_at = timezone.now()
            experiment.save()
