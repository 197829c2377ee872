"""Rebuild every serving model from the ``Event`` table, as one new version swapped in atomically.

Three steps, each a Celery task in production (see :mod:`recommendations.tasks`):

1. :func:`start_rebuild` creates a ``building`` version, snapshots the catalogue, reads the events
   and stores every model except item-kNN, plus the prepared matrix the chunks need;
2. :func:`build_chunk` computes the top-K neighbours of one block of items (any worker, any order,
   retry-safe: a chunk overwrites its own part); none when the self-evaluation's item-kNN
   baseline is the built-in item-kNN (:func:`selfeval.builtin_itemknn`: stored by step 1);
3. :func:`finish_rebuild` assembles the chunks and swaps the version in (a no-op when repeated).

A failure anywhere marks the version failed; the previously active version stays served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from recommendations import modelstore as storage
from recommendations.catalogue import snapshot as catalogue_service
from recommendations.conf import app_settings
from recommendations.engine import backends
from recommendations.engine.interactions import build_matrix
from recommendations.engine.similarity import (
    assemble_triples,
    chunk_bounds,
    csr_arrays,
    csr_from,
    knn_block,
    prepare,
)
from recommendations.models import ModelVersion
from recommendations.training import parts as build
from recommendations.training import repeat as seen
from recommendations.training import selfeval
from recommendations.training.eventlog import read_events

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
KNN_INPUT = "_knn_input"
KNN_CHUNK = "_knn."
#: items per similarity chunk on the numpy backend when SIMILARITY_CHUNK_ITEMS is None
DEFAULT_CHUNK_ITEMS = 5000


@dataclass(frozen=True)
class RebuildPlan:
    version_id: int
    chunks: tuple[tuple[int, int], ...]


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
        logger.debug(message)  # already shown: don't print it twice through a console logger
    else:
        logger.info(message)


def start_rebuild(progress: Progress | None = None, chunk_items: int | None = None) -> RebuildPlan:
    """Build everything but item-kNN into a new ``building`` version; return the chunk plan."""
    storage.prune()
    version = storage.create_version()
    started = time.time()
    metrics: dict = {"started": started}
    try:
        _say(progress, f"version {version.pk}: reading the catalogue")
        catalogue = build.timed("catalogue", metrics, catalogue_service.snapshot)
        index = catalogue_service.item_index(catalogue)
        _say(progress, f"version {version.pk}: {len(index)} products; reading events")
        data = build.timed("events", metrics, read_events, index)
        log = data.log
        matrix = build_matrix(
            log,
            app_settings.event_weights,
            half_life_days=app_settings.HALF_LIFE_DAYS,
            now=started,
            max_events_per_user=app_settings.MAX_EVENTS_PER_USER,
        )
        catalogue["interactions"] = np.bincount(log.items, minlength=len(index)).astype(np.int64)
        _say(progress, f"version {version.pk}: {len(log.items)} events, {log.n_users} visitors")
        parts = {
            "catalogue": catalogue,
            "users": {**build.users_part(data, matrix), **seen.shopper_arrays(data)},
            "repeat": build.timed("repeat", metrics, seen.repeat_part, data, catalogue),
            "trending": build.timed("trending", metrics, build.trending_part, data, catalogue, started),
            "bought_together": build.timed(
                "bought_together", metrics, build.bought_together_part, data, len(index)
            ),
            "session": build.timed("session", metrics, build.session_part, data),
            "content": build.timed("content", metrics, build.content_part, catalogue),
        }
        _store(version.pk, parts, progress)  # stored now, so the self-evaluation runs without them
        del catalogue  # (the content neighbours alone were ~600 MB at 1M products)
        fitted: dict = {}  # the self-evaluation's validation fits the rebuild serves as they are
        if app_settings.SELF_EVALUATION and log.users.size and len(index):
            _say(progress, f"version {version.pk}: self-evaluation")
            parts.update(_self_evaluation(data, matrix, metrics, started, fitted))
        if log.users.size and len(index):
            als = fitted.get(selfeval.BUILTIN_ALS)
            _say(
                progress,
                f"version {version.pk}: ALS" + (" (the self-evaluation's iALS)" if als is not None else ""),
            )
            parts["als"] = build.timed("als", metrics, build.als_part, matrix, als)
            metrics["als_from"] = "self_evaluation" if als is not None else "settings"
            ease = build.timed("ease", metrics, build.ease_part, matrix)
            if ease is not None:
                parts["ease"] = ease
        # the self-evaluation's item-kNN baseline, when it is the built-in one: no chunks to build
        knn = selfeval.builtin_itemknn(fitted, int(app_settings.NEIGHBOURS)) if fitted else None
        left = None
        if knn is not None:
            parts["itemknn"] = knn
            metrics.update(itemknn_from="self_evaluation", itemknn_nnz=len(knn["data"]))
        else:
            weighted, left, right = prepare(
                matrix, app_settings.ITEMKNN_SIMILARITY, shrink=app_settings.ITEMKNN_SHRINK
            )
            knn_input = {f"matrix_{k}": v for k, v in csr_arrays(weighted).items()}
            if left is not None and right is not None:
                knn_input.update(left=left, right=right)
            parts[KNN_INPUT] = knn_input
        _store(version.pk, parts, progress)
        metrics.update(n_events=len(log.items), n_users=log.n_users, n_items=len(index))
        ModelVersion.objects.filter(pk=version.pk).update(
            n_events=len(log.items), n_users=log.n_users, n_items=len(index), metrics=metrics
        )
    except Exception as exc:
        storage.mark_failed(version.pk, f"{type(exc).__name__}: {exc}")
        raise
    if metrics.get("itemknn_from") == "self_evaluation":
        return RebuildPlan(version.pk, ())
    chunk = chunk_items or app_settings.SIMILARITY_CHUNK_ITEMS
    if chunk is None:
        whole = _knn_backend() == "implicit" and left is None
        chunk = max(len(index), 1) if whole else DEFAULT_CHUNK_ITEMS
    return RebuildPlan(version.pk, tuple(chunk_bounds(len(index), chunk)))


def _store(version_id: int, parts: dict, progress: Progress | None) -> None:
    """Store every part of ``parts`` and drop it from the dict (its memory goes with it)."""
    for name in list(parts):
        _say(progress, f"version {version_id}: storing {name}")
        storage.save_part(version_id, name, parts.pop(name))


def _self_evaluation(data, matrix: sp.csr_matrix, metrics: dict, now: float, fitted: dict) -> dict:
    """Choose each context's blend on the shop's own holdout and fit the chosen models; a failure
    here is logged and leaves serving on the built-in recipes (the rebuild goes on). ``fitted``
    receives the validation fits the rebuild may serve as they are (:func:`selfeval.evaluate`)."""

    def matrix_of(log):  # the same confidence matrix as the serving models, for any sub-log
        return build_matrix(
            log,
            app_settings.event_weights,
            half_life_days=app_settings.HALF_LIFE_DAYS,
            now=now,
            max_events_per_user=app_settings.MAX_EVENTS_PER_USER,
        )

    try:
        selection = build.timed("self_evaluation", metrics, selfeval.evaluate, data, matrix_of, None, fitted)
        parts = build.timed("chosen_models", metrics, selfeval.chosen_parts, selection, matrix, data, fitted)
    except Exception as exc:
        fitted.clear()
        logger.exception("self-evaluation failed; serving keeps the built-in recipes")
        metrics["selection_error"] = f"{type(exc).__name__}: {exc}"
        return {}
    metrics["selection"] = selection
    return parts


def _knn_backend() -> str:
    return backends.resolve(app_settings.ENGINE_BACKEND)


@lru_cache(maxsize=2)
def _knn_input(version_id: int) -> tuple[sp.csr_matrix, np.ndarray | None, np.ndarray | None]:
    arrays = storage.load_parts(version_id, [KNN_INPUT])[KNN_INPUT]
    matrix = csr_from({k.removeprefix("matrix_"): v for k, v in arrays.items() if k.startswith("matrix_")})
    return matrix, arrays.get("left"), arrays.get("right")


def build_chunk(version_id: int, start: int, stop: int) -> int:
    """Top-K item neighbours for items ``start..stop`` of a building version (idempotent)."""
    try:
        status = ModelVersion.objects.filter(pk=version_id).values_list("status", flat=True).first()
        if status != ModelVersion.Status.BUILDING:
            return 0
        weighted, left, right = _knn_input(version_id)
        rows, cols, vals = knn_block(
            weighted,
            left,
            right,
            start,
            stop,
            app_settings.NEIGHBOURS,
            app_settings.ITEMKNN_SHRINK,
            backend=_knn_backend(),
        )
        storage.save_part(version_id, f"{KNN_CHUNK}{start:010d}", {"rows": rows, "cols": cols, "vals": vals})
        return len(rows)
    except Exception as exc:
        storage.mark_failed(version_id, f"chunk {start}-{stop}: {type(exc).__name__}: {exc}")
        raise


def finish_rebuild(
    version_id: int, expected_chunks: int | None = None, progress: Progress | None = None
) -> bool:
    """Assemble the item-kNN chunks and swap the version in; False if it was not building."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None or version.status != ModelVersion.Status.BUILDING:
        return False
    try:
        chunks = storage.load_parts(version_id, prefix=KNN_CHUNK)
        if expected_chunks is not None and len(chunks) != expected_chunks:
            raise RuntimeError(f"{len(chunks)} of {expected_chunks} similarity chunks were stored")
        metrics = dict(version.metrics)
        if metrics.get("itemknn_from") != "self_evaluation":  # else stored whole by start_rebuild
            triples = [(p["rows"], p["cols"], p["vals"]) for _, p in sorted(chunks.items())]
            similarity = assemble_triples(triples, version.n_items)
            storage.save_part(version_id, "itemknn", csr_arrays(similarity))
            metrics["itemknn_nnz"] = int(similarity.nnz)
        storage.delete_parts(version_id, KNN_CHUNK)
        storage.delete_parts(version_id, KNN_INPUT)
        _knn_input.cache_clear()
        seconds = time.time() - float(metrics.get("started", time.time()))
        swapped = storage.activate(
            version_id, report=selfeval.record, metrics=metrics, build_seconds=round(seconds, 3)
        )
    except Exception as exc:
        storage.mark_failed(version_id, f"{type(exc).__name__}: {exc}")
        raise
    if swapped:
        _say(progress, f"version {version_id}: active after {seconds:.1f}s")
        storage.prune()
    return swapped


def rebuild(progress: Progress | None = None, chunk_items: int | None = None) -> int:
    """Every step in this process, no Celery (management command, tests, small shops)."""
    plan = start_rebuild(progress, chunk_items)
    for n, (start, stop) in enumerate(plan.chunks, 1):
        build_chunk(plan.version_id, start, stop)
        _say(progress, f"version {plan.version_id}: similarity chunk {n}/{len(plan.chunks)}")
    finish_rebuild(plan.version_id, len(plan.chunks), progress)
    return plan.version_id
