"""The running experiments by slot (cached in process, cleared when one is saved here) and the
variant a visitor gets."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.experiments.assignment import bucket, identity_of
from recommendations.models import Assignment, Experiment, Variant
from recommendations.subjects import Subject

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[str, Any] = {"expires": 0.0, "by_slot": {}}
_recorded: set[tuple[int, str]] = set()


@dataclass(frozen=True)
class VariantSnapshot:
    id: int
    name: str
    weight: int
    recipe: str
    ranking_policy: str


@dataclass(frozen=True)
class ExperimentSnapshot:
    id: int
    name: str
    slot: str
    salt: str
    variants: tuple[VariantSnapshot, ...]

    def variant_of(self, identity: str) -> VariantSnapshot:
        return self.variants[bucket(identity, self.salt, [v.weight for v in self.variants])]


def _load() -> dict[str, ExperimentSnapshot]:
    now = timezone.now()
    running = (
        Experiment.objects.filter(status=Experiment.Status.RUNNING)
        .filter(Q(started_at__isnull=True) | Q(started_at__lte=now))
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now))
        .prefetch_related("variants")
    )
    out: dict[str, ExperimentSnapshot] = {}
    for exp in running:
        variants = tuple(
            VariantSnapshot(v.pk, v.name, v.weight, v.recipe, v.ranking_policy)
            for v in exp.variants.all()
            if v.weight > 0
        )
        if variants:
            out[exp.slot] = ExperimentSnapshot(exp.pk, exp.name, exp.slot, exp.salt, variants)
    return out


def running_experiment(slot: str) -> ExperimentSnapshot | None:
    clock = time.monotonic()
    with _lock:
        by_slot = _cache["by_slot"] if _cache["expires"] > clock else None
    if by_slot is None:
        by_slot = _load()
        with _lock:
            _cache.update(expires=clock + app_settings.EXPERIMENTS_CACHE_SECONDS, by_slot=by_slot)
    return by_slot.get(slot)


def variant_for(slot: str, visitor: Subject | None) -> VariantSnapshot | None:
    """The visitor's variant in the experiment running on ``slot`` (None: no experiment, or
    nobody to assign)."""
    experiment = running_experiment(slot)
    if experiment is None:
        return None
    identity = identity_of(visitor)
    if identity is None:
        return None
    variant = experiment.variant_of(identity)
    if app_settings.EXPERIMENTS_RECORD_ASSIGNMENTS and (experiment.id, identity) not in _recorded:
        Assignment.objects.get_or_create(
            experiment_id=experiment.id, identity=identity, defaults={"variant_id": variant.id}
        )
        with _lock:
            _recorded.add((experiment.id, identity))
    return variant


def recipe_for(slot: str, visitor: Subject | None) -> str:
    """The slot recipe to serve ``slot`` with: the variant's recipe under an experiment, else the
    slot's own. Never raises: a broken experiment serves the slot's own recipe."""
    try:
        variant = variant_for(slot, visitor)
    except Exception:
        logger.exception("Experiment lookup failed for slot %r", slot)
        return slot
    return variant.recipe if variant is not None and variant.recipe else slot


def forget_identities(identities: list[str]) -> int:
    """Erasure: delete the Assignment rows of ``identities`` (and this process's note that they
    were recorded); returns the rows removed."""
    removed = Assignment.objects.filter(identity__in=identities).delete()[0]
    with _lock:
        _recorded.difference_update({key for key in _recorded if key[1] in identities})
    return removed


def clear() -> None:
    with _lock:
        _cache.update(expires=0.0, by_slot={})
        _recorded.clear()


@receiver(post_save, sender=Experiment, dispatch_uid="recommendations.experiments.saved")
@receiver(post_delete, sender=Experiment, dispatch_uid="recommendations.experiments.deleted")
@receiver(post_save, sender=Variant, dispatch_uid="recommendations.experiments.variant_saved")
@receiver(post_delete, sender=Variant, dispatch_uid="recommendations.experiments.variant_deleted")
def _experiment_changed(**kwargs: Any) -> None:
    clear()
