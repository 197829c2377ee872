"""Trained model outputs, versioned: a version is built part by part and served only once ready.

A :class:`ModelVersion` row is created in ``building`` state; every model output (neighbour lists,
factors, trending lists, the catalogue snapshot and id maps) is written as a :class:`ModelPart`
(an ``.npz`` blob); only then does one transaction mark the version ``ready`` and move the
:class:`ActiveModel` pointer to it. Serving reads the pointer, so a half-built or failed version is
never seen.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        BUILDING = "building", _("building")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    # What the version holds; "main" is the full set of serving models.
    kind = models.CharField(_("kind"), max_length=32, default="main")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.BUILDING)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    n_events = models.PositiveIntegerField(_("events"), default=0)
    n_users = models.PositiveIntegerField(_("users"), default=0)
    n_items = models.PositiveIntegerField(_("items"), default=0)
    size_bytes = models.BigIntegerField(_("size in bytes"), default=0)
    build_seconds = models.FloatField(_("build seconds"), null=True, blank=True)
    # Per-model timings, sizes and offline metrics; free-form, shown in the admin.
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        indexes = [models.Index(fields=["kind", "status"], name="rec_modelversion_kind_status")]

    def __str__(self) -> str:
        return f"{self.kind} v{self.pk} ({self.status})"


class ModelPart(models.Model):
    """One named array bundle of a version (``numpy.savez`` bytes), its bytes in
    :class:`ModelPartChunk` rows; ``data`` holds them only for parts stored before chunks existed."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="parts")
    name = models.CharField(_("name"), max_length=64)
    data = models.BinaryField(_("data"), blank=True, default=b"")
    size_bytes = models.BigIntegerField(_("size in bytes"), default=0)

    class Meta:
        verbose_name = _("model part")
        verbose_name_plural = _("model parts")
        constraints = [models.UniqueConstraint(fields=["version", "name"], name="rec_modelpart_unique")]

    def __str__(self) -> str:
        return f"{self.version_id}:{self.name}"


class ModelPartChunk(models.Model):
    """Bytes ``index * chunk .. (index + 1) * chunk`` of a part: a value of bounded size, whatever
    the part's (``RECOMMENDATIONS_MODEL_PART_CHUNK_BYTES``)."""

    part = models.ForeignKey(ModelPart, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField(_("index"))
    data = models.BinaryField(_("data"))

    class Meta:
        verbose_name = _("model part chunk")
        verbose_name_plural = _("model part chunks")
        constraints = [models.UniqueConstraint(fields=["part", "index"], name="rec_modelpartchunk_unique")]

    def __str__(self) -> str:
        return f"{self.part_id}[{self.index}]"


class ActiveModel(models.Model):
    """The pointer serving follows: one row per kind, moved in the swap transaction."""

    kind = models.CharField(_("kind"), max_length=32, unique=True)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    swapped_at = models.DateTimeField(_("swapped at"), auto_now=True)

    class Meta:
        verbose_name = _("active model")
        verbose_name_plural = _("active models")

    def __str__(self) -> str:
        return f"{self.kind} -> v{self.version_id}"
