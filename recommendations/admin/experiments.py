"""Experiments in admin: variants inline, results with significance, and the note against peeking."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from recommendations.experiments.report import experiment_report
from recommendations.models import Experiment, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 2
    fields = ("name", "weight", "recipe", "ranking_policy")


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
            render_to_string("recommendations/ads/admin_experiment.html", {"report": experiment_report(obj)})
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
