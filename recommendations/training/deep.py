"""Training of the optional deep sequential model (``pip install recommendations[deep]``).

:func:`train_deep_model` reads the ``Event`` table into per-visitor sequences, holds out the last
item of the most recent sessions, trains the GRU model and the non-deep session blend on the rest,
evaluates both on the holdout and stores a ``deep_sequential`` model version (the model bytes, the
item ids and both sets of metrics, plus the gate decision on MRR@20). Serving decides per slot with
:func:`recommendations.engine.deep.should_serve` on the stored metrics. Without PyTorch the task
returns ``{"skipped": "torch not installed"}`` and touches nothing. The Celery task
``recommendations.train_deep_model`` (:mod:`recommendations.tasks`) calls :func:`train_deep_model`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from recommendations import modelstore as storage
from recommendations.engine import deep
from recommendations.engine.session import SequenceBlend, Sessions, Transitions
from recommendations.models import Event
from recommendations.offline.algorithms import SESSION_WEIGHTS, stan

logger = logging.getLogger(__name__)

SKIPPED = {"skipped": "torch not installed"}


def visitor_sequences() -> tuple[list[str], list[list[int]], list[list[float]]]:
    """Product ids (index -> id) and each visitor's item indices and timestamps, oldest first."""
    rows = (
        Event.objects.filter(product__isnull=False, visitor_id__isnull=False)
        .order_by("visitor_id", "created_at", "id")
        .values_list("visitor_id", "product_id", "created_at")
    )
    index: dict[str, int] = {}
    items: list[list[int]] = []
    stamps: list[list[float]] = []
    previous = object()
    for visitor_id, product_id, created_at in rows.iterator(chunk_size=20_000):
        if visitor_id != previous:
            items.append([])
            stamps.append([])
            previous = visitor_id
        items[-1].append(index.setdefault(str(product_id), len(index)))
        stamps[-1].append(created_at.timestamp())
    return list(index), items, stamps


def _session_blend() -> Any:
    """The non-deep session blend, with the production hybrid's session weights."""
    return SequenceBlend(
        [(stan(), SESSION_WEIGHTS["stan"]), (Transitions(steps=10), SESSION_WEIGHTS["sequential_rules"])]
    )


def _store(
    item_ids: list[str], model: deep.GRU4Rec, metrics: dict[str, Any], n_events: int, n_visitors: int
) -> int:
    version = storage.create_version(deep.KIND)
    try:
        arrays = {
            "state": np.frombuffer(model.to_bytes(), dtype=np.uint8),
            "item_ids": np.asarray(item_ids, dtype=str),
        }
        storage.save_part(version.pk, "model", arrays)
        storage.activate(
            version.pk,
            metrics=metrics,
            n_events=n_events,
            n_users=n_visitors,
            n_items=len(item_ids),
            build_seconds=model.fit_seconds,
        )
    except Exception as exc:
        storage.mark_failed(version.pk, repr(exc))
        raise
    return version.pk


def train_and_evaluate(
    holdout_sessions: int = 1000, k: int = 20, config: deep.DeepConfig | None = None, store: bool = True
) -> dict[str, Any]:
    """Train deep vs blend on the Event table, evaluate on the holdout, optionally store the version."""
    if not deep.is_available():
        return dict(SKIPPED)
    item_ids, items, stamps = visitor_sequences()
    if not item_ids or not any(len(seq) >= 2 for seq in items):
        return {"skipped": "not enough events"}
    sessions = Sessions.from_lists(items, len(item_ids), stamps)
    train, cases = deep.holdout_last_items(sessions, holdout_sessions)
    model = deep.GRU4Rec(config).fit(train)
    blend = _session_blend().fit(train)
    deep_metrics = deep.evaluate_next_item(model, cases, k)
    blend_metrics = deep.evaluate_next_item(blend, cases, k)
    result: dict[str, Any] = {
        "deep": deep_metrics,
        "blend": blend_metrics,
        "serve": deep.should_serve(deep_metrics, blend_metrics, f"mrr@{k}"),
        "fit_seconds": model.fit_seconds,
        "epochs": model.epochs_run,
    }
    if store:
        result["version_id"] = _store(item_ids, model, result, len(sessions.items), len(items))
    logger.info("deep sequential model: %s", result)
    return result


def train_deep_model(holdout_sessions: int = 1000) -> dict[str, Any]:
    """Train and gate the deep model; ``{"skipped": ...}`` when torch is missing, never raises for it."""
    return train_and_evaluate(holdout_sessions=holdout_sessions)
