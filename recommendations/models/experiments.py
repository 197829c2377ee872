"""A/B experiments on slots: an experiment splits the visitors of one slot between variants.

Assignment is deterministic (see :mod:`recommendations.experiments.assignment`); the
:class:`Assignment` rows are an optional audit trail, never read to decide a variant.
"""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_salt() -> str:
    return secrets.token_hex(8)


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        RUNNING = "running", _("running")
        STOPPED = "stopped", _("stopped")

    name = models.CharField(_("name"), max_length=120)
    slot = models.CharField(
        _("slot"),
        max_length=64,
        help_text=_('A recommendation slot ("for_you") or an ad slot as "ads:<name>" ("ads:home").'),
    )
    salt = models.CharField(
        _("salt"),
        max_length=32,
        default=new_salt,
        help_text=_("Hashed with the visitor to pick a variant. Changing it reshuffles everyone."),
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")
        constraints = [
            models.UniqueConstraint(
                fields=["slot"],
                condition=models.Q(status="running"),
                name="rec_one_running_experiment_per_slot",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ad_slot(self) -> bool:
        return self.slot.startswith("ads:")


class Variant(models.Model):
    """One arm: for a recommendation slot a recipe name, for an ad slot a ranking policy."""

    class Policy(models.TextChoices):
        EXPECTED_VALUE = "expected_value", _("expected value (predicted CTR x bid)")
        BID = "bid", _("highest bid")
        CTR = "ctr", _("highest predicted CTR")

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(_("name"), max_length=64)
    weight = models.PositiveIntegerField(_("weight"), default=1, validators=[MinValueValidator(1)])
    recipe = models.CharField(
        _("slot recipe"), max_length=64, blank=True, help_text=_("A slot recipe name (recommendation slots).")
    )
    ranking_policy = models.CharField(
        _("ad ranking policy"),
        max_length=16,
        choices=Policy.choices,
        blank=True,
        help_text=_("Ad slots only."),
    )

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["experiment", "id"]
        constraints = [models.UniqueConstraint(fields=["experiment", "name"], name="rec_variant_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if bool(self.recipe) == bool(self.ranking_policy):
            raise ValidationError(_("Set either a slot recipe or an ad ranking policy, not both."))


class Assignment(models.Model):
    """Optional record of which variant an identity got (``EXPERIMENTS_RECORD_ASSIGNMENTS``)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    identity = models.CharField(_("identity"), max_length=80)
    assigned_at = models.DateTimeField(_("assigned at"), auto_now_add=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["experiment", "identity"], name="rec_assignment_identity")
        ]

    def __str__(self) -> str:
        return f"{self.identity} -> {self.variant_id}"
