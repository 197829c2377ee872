"""Frequently bought together: item co-occurrence in baskets (orders or carts), filtered by lift.

For baskets ``B`` (binary baskets x items), ``count_ij`` = baskets holding both i and j,
``support_i`` = baskets holding i, ``N`` = baskets. ``confidence(i -> j) = count_ij / support_i``
and ``lift_ij = count_ij * N / (support_i * support_j)``: above 1, j is bought with i more often
than its popularity alone explains. A pair is kept when ``count_ij >= min_support`` and
``lift_ij >= min_lift``. Candidates for a set of items are ranked by the sum of the chosen
measure (``rank_by``: lift by default) over the query items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
import scipy.sparse as sp

from ._sparse import as_csr
from .base import top_k


class BoughtTogether:
    """Co-occurrence model over baskets."""

    name = "bought_together"

    def __init__(
        self, min_support: int = 2, min_lift: float = 1.0, rank_by: Literal["lift", "confidence"] = "lift"
    ) -> None:
        self.min_support = min_support
        self.min_lift = min_lift
        self.rank_by = rank_by
        self.counts: sp.csr_matrix | None = None
        self.lift: sp.csr_matrix | None = None
        self.confidence: sp.csr_matrix | None = None
        self.support: np.ndarray | None = None

    def fit(self, baskets: sp.spmatrix) -> Self:
        binary = as_csr(baskets, np.float64)
        binary.data = (binary.data > 0).astype(np.float64)
        binary.eliminate_zeros()
        n_baskets = binary.shape[0]
        counts = (binary.T @ binary).tocsr()
        counts.setdiag(0)
        counts.eliminate_zeros()
        support = np.asarray(binary.sum(axis=0)).ravel()
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        lift = counts.data * n_baskets / (support[rows] * support[counts.indices])
        keep = (counts.data >= self.min_support) & (lift >= self.min_lift)
        shape = counts.shape
        r, c = rows[keep], counts.indices[keep]
        self.counts = sp.csr_matrix((counts.data[keep], (r, c)), shape=shape)
        self.lift = sp.csr_matrix((lift[keep], (r, c)), shape=shape)
        self.confidence = sp.csr_matrix((counts.data[keep] / support[r], (r, c)), shape=shape)
        self.support = support
        return self

    def for_items(
        self, item_indices: Sequence[int] | np.ndarray, n: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """Items bought together with ``item_indices`` (indices, scores), best first.

        The query items themselves are never returned.
        """
        matrix = self.lift if self.rank_by == "lift" else self.confidence
        if matrix is None:
            raise RuntimeError("call fit() first")
        items = np.unique(np.asarray(item_indices, dtype=np.int64))
        if items.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores = np.asarray(matrix[items].sum(axis=0)).ravel()
        scores[scores <= 0] = -np.inf
        best = top_k(scores, n, exclude=items)
        return best, scores[best].astype(np.float32)
