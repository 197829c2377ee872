from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyEventCount(models.Model):
    """Counts that outlive raw events: retention purges rows of ``Event`` after rolling them up
    here (per day, kind, product, slot and algorithm), so dashboards keep their history."""

    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=32)
    product_id = models.CharField(_("product id"), max_length=64, blank=True)
    slot = models.CharField(_("slot"), max_length=64, blank=True)
    source = models.CharField(_("algorithm"), max_length=64, blank=True)
    events = models.PositiveIntegerField(_("events"), default=0)
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("daily event count")
        verbose_name_plural = _("daily event counts")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "product_id", "slot", "source"], name="rec_dailycount_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.product_id or '-'}: {self.events}"
