"""Shared data shapes and the protocols every algorithm implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Self

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class EventLog:
    """A columnar log of interactions, already mapped to integer indices.

    ``users`` may be -1 for anonymous rows; ``sessions`` may be -1 where unknown.
    ``kinds`` indexes into ``kind_names``; ``timestamps`` are unix seconds (float64).
    """

    users: np.ndarray  # int64, shape (n,)
    items: np.ndarray  # int64, shape (n,)
    kinds: np.ndarray  # int16, shape (n,)
    timestamps: np.ndarray  # float64, shape (n,)
    sessions: np.ndarray  # int64, shape (n,)
    kind_names: tuple[str, ...]
    n_users: int
    n_items: int


class Recommender(Protocol):
    """A model fitted on a users x items confidence matrix (CSR, float32)."""

    name: str

    def fit(self, interactions: sp.csr_matrix) -> Self: ...

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores for every item, one dense row per row of ``history`` (rows x n_items).

        ``history`` has the same item columns as the training matrix; a row may describe a user
        seen in training or a brand-new user (fold-in), so models must not rely on row indices.
        """
        ...


class SequenceRecommender(Protocol):
    """A model that scores the next item from an ordered, recency-weighted list of items."""

    name: str

    def score_sequence(self, items: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        """Dense scores (n_items,) for the next item after ``items`` (oldest first)."""
        ...


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first; ``exclude`` indices are never returned.

    Items with a score of -inf or NaN are never returned either, so the result may be shorter.
    """
    scores = np.asarray(scores, dtype=np.float64).copy()
    if exclude is not None and len(exclude):
        scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
    scores[np.isnan(scores)] = -np.inf
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    order = part[np.lexsort((part, -scores[part]))]
    return order[np.isfinite(scores[order])].astype(np.int64)


def in_sorted(values: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """``np.isin(values, ordered)`` for an ascending ``ordered`` by one binary search per value:
    ``np.isin`` sorts both sides again, with numpy 2's hash-based unique on a wide range of keys
    (half a second on a shop's million history keys)."""
    values = np.asarray(values)
    if not len(ordered):
        return np.zeros(values.shape, dtype=bool)
    found = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return ordered[found] == values


def unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` (sorted distinct values) by one sort: numpy 2's default hash-based
    unique takes seconds on a million int64 keys of a wide range (a sort takes milliseconds)."""
    ordered = np.sort(np.asarray(values).ravel())
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if ordered.size else ordered
