"""Fit every serving model from a training log and turn each into storable arrays (one part each).

Pure glue: settings in, engine calls, arrays out. Item-kNN is not here: it is built in chunks by
:mod:`recommendations.training.pipeline` so several workers can share it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommendations.conf import app_settings
from recommendations.engine import backends, strings
from recommendations.engine.als import ALS
from recommendations.engine.bought_together import BoughtTogether
from recommendations.engine.content import ContentModel
from recommendations.engine.ease import EASE, choose_item_model
from recommendations.engine.popularity import trending
from recommendations.engine.session import Sessions
from recommendations.engine.similarity import (
    assemble_triples,
    content_neighbours,
    csr_arrays,
    topk_dense,
    topk_per_row,
)
from recommendations.training.eventlog import TrainingLog

Arrays = dict[str, np.ndarray]


def category_membership(catalogue: Arrays) -> sp.csr_matrix:
    """items x categories, 1 for the item's category and all its parents."""
    indptr, codes = catalogue["path_indptr"], catalogue["path_codes"]
    n_items, n_cats = len(catalogue["category"]), max(len(catalogue["category_parent"]), 1)
    return sp.csr_matrix((np.ones(len(codes)), codes, indptr), shape=(n_items, n_cats))


def users_part(data: TrainingLog, matrix: sp.csr_matrix) -> Arrays:
    log = data.log
    bought = log.kinds == log.kind_names.index("purchase") if "purchase" in log.kind_names else None
    if bought is not None and bought.any():
        purchased = sp.csr_matrix(
            (np.ones(int(bought.sum()), dtype=np.float32), (log.users[bought], log.items[bought])),
            shape=matrix.shape,
        )
    else:
        purchased = sp.csr_matrix(matrix.shape, dtype=np.float32)
    out = {"keys": np.asarray(data.subjects.ids.tolist(), dtype=str)}
    out.update({f"history_{k}": v for k, v in csr_arrays(matrix).items()})
    out.update({f"purchased_{k}": v for k, v in csr_arrays(purchased).items()})
    return out


def trending_part(data: TrainingLog, catalogue: Arrays, now: float) -> Arrays:
    weights = {k: max(v, 0.0) for k, v in app_settings.event_weights.items()}
    weights["view"] = max(weights.get("view", 1.0), 1.0)
    if data.log.users.size == 0:
        return {
            "scores": np.zeros(data.log.n_items, dtype=np.float32),
            "cat_indptr": np.zeros(1, np.int64),
            "cat_items": np.empty(0, np.int64),
            "cat_codes": np.empty(0, np.int64),
        }
    result = trending(
        data.log,
        half_life_hours=app_settings.TRENDING_HALF_LIFE_HOURS,
        categories=category_membership(catalogue),
        weights=weights,
        now=now,
        n_per_category=100,
    )
    codes = sorted(result.by_category)
    lists = [result.by_category[c] for c in codes]
    return {
        "scores": result.scores.astype(np.float32),
        "cat_codes": np.asarray(codes, dtype=np.int64),
        "cat_indptr": np.r_[0, np.cumsum([len(x) for x in lists])].astype(np.int64),
        "cat_items": np.concatenate(lists).astype(np.int64) if lists else np.empty(0, np.int64),
    }


def bought_together_part(data: TrainingLog, n_items: int) -> Arrays:
    keep = data.baskets >= 0
    baskets, items = data.baskets[keep], data.log.items[keep]
    if baskets.size == 0:
        return csr_arrays(sp.csr_matrix((n_items, n_items), dtype=np.float32))
    _, rows = np.unique(baskets, return_inverse=True)
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, items)), shape=(int(rows.max()) + 1, n_items))
    model = BoughtTogether(
        min_support=app_settings.BOUGHT_TOGETHER_MIN_SUPPORT, min_lift=app_settings.BOUGHT_TOGETHER_MIN_LIFT
    ).fit(matrix)
    lift = sp.csr_matrix(model.lift, dtype=np.float32)
    lift.sort_indices()
    top = topk_per_row(lift, app_settings.NEIGHBOURS)
    return csr_arrays(assemble_triples([top], n_items))


def als_part(matrix: sp.csr_matrix, fitted: ALS | None = None) -> Arrays:
    """The built-in ALS source: fitted here with the ``ALS_*`` settings, or ``fitted`` as it is
    (the self-evaluation's iALS baseline, fitted on nearly every event: the rebuild does not fit
    the same kind of model twice; a frequency-scaled one folds new rows in with its base lambda,
    the one of a row of average weight)."""
    model = fitted
    if model is None:
        model = ALS(
            factors=app_settings.ALS_FACTORS,
            iterations=app_settings.ALS_ITERATIONS,
            regularization=app_settings.ALS_REGULARIZATION,
            alpha=app_settings.ALS_ALPHA,
            seed=0,
        )
        model = backends.fit_als(model, matrix, app_settings.ENGINE_BACKEND)
    assert model.item_factors is not None
    y = model.item_factors.astype(np.float64)
    gram = y.T @ y + model.regularization * np.eye(y.shape[1])
    return {
        "item_factors": model.item_factors.astype(np.float32),
        "gram": gram,
        "alpha": np.asarray(model.alpha, dtype=np.float64),
    }


def ease_part(matrix: sp.csr_matrix) -> Arrays | None:
    n_items = matrix.shape[1]
    if n_items < 2 or choose_item_model(n_items, app_settings.EASE_MAX_ITEMS) != "ease":
        return None
    model = EASE(l2=app_settings.EASE_L2).fit(matrix)
    assert model.weights is not None
    return csr_arrays(topk_dense(model.weights, app_settings.NEIGHBOURS))


def content_part(catalogue: Arrays) -> Arrays:
    n = len(catalogue["category"])
    if n < 2:
        return csr_arrays(sp.csr_matrix((n, n), dtype=np.float32))
    indptr, codes = catalogue["path_indptr"].tolist(), catalogue["path_codes"].tolist()
    cat_ids = strings.column(catalogue, "category_ids")
    paths = [[cat_ids[c] for c in codes[indptr[i] : indptr[i + 1]]] for i in range(n)]
    prices = [None if np.isnan(p) else p for p in catalogue["price"].tolist()]
    brands = [b or None for b in strings.column(catalogue, "brands")]
    model = ContentModel().fit(strings.column(catalogue, "texts"), paths, brands, prices)
    assert model.vectors is not None
    return csr_arrays(content_neighbours(model.vectors, app_settings.NEIGHBOURS))


def session_part(data: TrainingLog) -> Arrays:
    sessions = Sessions.from_log(data.log)
    return {"indptr": sessions.indptr, "items": sessions.items, "timestamps": sessions.timestamps}


def timed(name: str, metrics: dict, build: Callable[..., Any], *args: Any) -> Any:
    started = time.perf_counter()
    out = build(*args)
    metrics.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 3)
    return out
