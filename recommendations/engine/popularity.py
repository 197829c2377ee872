"""Popularity: the same ranking for everyone, and trending items (globally and per category).

Trending score (documented choice). For each item two exponentially decayed event counts are
kept: a short one ``s`` with half-life ``h`` (the "now" signal) and a baseline ``b`` with
half-life ``H = baseline_factor * h``. An item selling at a steady rate ``r`` has ``s ~ r h / ln 2``
and ``b ~ r H / ln 2``, so its expected short count is ``e = b * h / H``. The score is

    trending = s * (s + m) / (e + m)

i.e. the recent activity multiplied by its smoothed lift over the item's own baseline (``m`` is
a prior in events that keeps one-off spikes of rare items from topping the list). A steady
best-seller keeps roughly its decayed count; an item whose activity is accelerating is boosted
up to ``H / h`` times. With ``baseline_factor=None`` the score is just the decayed count ``s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

import numpy as np
import scipy.sparse as sp

from ._sparse import as_csr
from .base import EventLog
from .interactions import decay_factors, kind_weights

SECONDS_PER_HOUR = 3_600.0


class Popularity:
    """Item popularity (column sums of the, typically time-decayed, confidence matrix)."""

    name = "popularity"

    def __init__(self) -> None:
        self.item_scores: np.ndarray | None = None

    def fit(self, interactions: sp.csr_matrix) -> Self:
        matrix = as_csr(interactions)
        self.item_scores = np.asarray(matrix.sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """The same popularity row for every history row."""
        if self.item_scores is None:
            raise RuntimeError("call fit() first")
        return np.tile(self.item_scores, (history.shape[0], 1))

    def shared_scores(self) -> np.ndarray:
        """The one row :meth:`score` gives every history (the evaluator ranks it once)."""
        if self.item_scores is None:
            raise RuntimeError("call fit() first")
        return self.item_scores


@dataclass
class Trending:
    """Global trending scores (n_items,) and, per category index, item indices best first."""

    scores: np.ndarray
    by_category: dict[int, np.ndarray] = field(default_factory=dict)


def _decayed_counts(
    log: EventLog, weights: Mapping[str, float] | None, half_life_seconds: float, now: float
) -> np.ndarray:
    per_event = decay_factors(log.timestamps, half_life_seconds, now)
    if weights is not None:
        per_event = per_event * kind_weights(log.kind_names, weights)[log.kinds]
    counts = np.bincount(log.items, weights=per_event, minlength=log.n_items)
    return np.maximum(counts, 0.0)


def _category_rankings(
    scores: np.ndarray, categories: np.ndarray | sp.spmatrix, n: int
) -> dict[int, np.ndarray]:
    """Top ``n`` positive-score items per category.

    ``categories`` is either one category index per item (-1 for none) or a sparse items x
    categories membership matrix (so an item can sit in its category and all its parents).
    """
    if sp.issparse(categories):
        members = sp.csc_matrix(categories)
        groups = {
            c: members.indices[members.indptr[c] : members.indptr[c + 1]] for c in range(members.shape[1])
        }
    else:
        labels = np.asarray(categories, dtype=np.int64)
        order = np.argsort(labels, kind="stable")
        uniq, starts = np.unique(labels[order], return_index=True)
        bounds = np.append(starts, len(order))
        groups = {int(c): order[bounds[i] : bounds[i + 1]] for i, c in enumerate(uniq) if c >= 0}
    rankings = {}
    for category, items in groups.items():
        items = items[scores[items] > 0]
        if items.size == 0:
            continue
        best = np.lexsort((items, -scores[items]))[:n]
        rankings[int(category)] = items[best].astype(np.int64)
    return rankings


def trending(
    log_or_matrix: EventLog | sp.spmatrix,
    half_life_hours: float = 24.0,
    categories: np.ndarray | sp.spmatrix | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    now: float | None = None,
    baseline_factor: float | None = 14.0,
    prior: float = 1.0,
    n_per_category: int = 20,
) -> Trending:
    """Trending items from an event log (see the module docstring for the score).

    Given a (users x items) matrix instead of a log there are no timestamps: the column sums are
    taken as already-decayed counts and no baseline is applied. ``weights`` per event kind default
    to 1 for every kind.
    """
    if isinstance(log_or_matrix, EventLog):
        log = log_or_matrix
        if now is None:
            now = float(log.timestamps.max()) if log.timestamps.size else 0.0
        half_life = half_life_hours * SECONDS_PER_HOUR
        short = _decayed_counts(log, weights, half_life, now)
        if baseline_factor is None:
            scores = short
        else:
            baseline = _decayed_counts(log, weights, half_life * baseline_factor, now)
            expected = baseline / baseline_factor
            scores = short * (short + prior) / (expected + prior)
    else:
        scores = np.asarray(as_csr(log_or_matrix).sum(axis=0), dtype=np.float64).ravel()
    scores = scores.astype(np.float32)
    rankings = {} if categories is None else _category_rankings(scores, categories, n_per_category)
    return Trending(scores=scores, by_category=rankings)
