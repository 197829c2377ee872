"""What each rebuild's self-evaluation chose, per context, kept beyond the versions it describes.

One :class:`ModelQuality` row per (rebuild, context) when a version goes live: the chosen blend
(or the default kept, and why), its validation metrics next to popularity's and the default
blend's. Rows outlive pruned versions (``version`` becomes null, ``version_number`` stays), so the
admin's model-quality page can draw the history.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from recommendations.models.trained import ModelVersion


class ModelQuality(models.Model):
    class Context(models.TextChoices):
        USER = "user", _("known user")
        SESSION = "session", _("anonymous session")
        SIMILAR = "similar", _("product page (similar)")
        CART = "cart", _("cart")

    version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="quality"
    )
    version_number = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    context = models.CharField(_("context"), max_length=16, choices=Context.choices)
    # {model name: weight}: what serving blends for this context
    weights = models.JSONField(_("weights"), default=dict)
    params = models.JSONField(_("hyper-parameters"), default=dict, blank=True)
    # {model name, "chosen", "default": {split: NDCG@k, "objective": ...}}
    metrics = models.JSONField(_("validation metrics"), default=dict, blank=True)
    n_queries = models.JSONField(_("validation queries"), default=dict, blank=True)
    default_kept = models.BooleanField(_("default kept"), default=False)
    reason = models.TextField(_("reason"), blank=True)
    k = models.PositiveSmallIntegerField(_("k"), default=10)
    ndcg = models.FloatField(_("validation NDCG"), null=True, blank=True)
    popularity_ndcg = models.FloatField(_("popularity NDCG"), null=True, blank=True)

    class Meta:
        verbose_name = _("model quality")
        verbose_name_plural = _("model quality")
        ordering = ["-version_number", "context"]
        indexes = [models.Index(fields=["context", "version_number"], name="rec_quality_ctx_version")]

    def __str__(self) -> str:
        return f"v{self.version_number} {self.context}"
