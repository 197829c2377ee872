"""Item-based collaborative filtering: top-K item neighbours, scored as ``history @ similarity``.

Similarities (rows of ``similarity`` are "from" items, columns are candidate items):

* ``cosine``: ``x_i . x_j / (|x_i| |x_j| + shrink)``;
* ``asymmetric`` (Aiolli 2013): ``x_i . x_j / (|x_i|^(2 alpha) |x_j|^(2 (1 - alpha)) + shrink)``;
  ``alpha = 0.5`` is cosine, a higher alpha favours candidates that are popular among the
  buyers of ``i`` (a conditional-probability flavour);
* ``bm25``: the dot product of BM25-weighted item columns (users are the "terms", so very active
  users count less), as in the ``implicit`` library's ``BM25Recommender``.

The item x item product is computed in row blocks whose size is chosen from the number of
user-pair multiplications they cost (so a block of popular items is small and a block of tail
items is large); each block is cut to its top K per row before the next one is computed, which
keeps peak memory at one block plus the K-sparse result.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import scipy.sparse as sp

from ._sparse import as_csr, assemble, column_norms, safe_inverse, scale_columns, topk_per_row

Similarity = Literal["cosine", "bm25", "asymmetric"]


def bm25_weight(interactions: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """BM25-weight a users x items matrix: items are documents, users are terms (float32)."""
    matrix = as_csr(interactions, np.float64)
    n_items = matrix.shape[1]
    user_df = np.diff(matrix.indptr).astype(np.float64)
    idf = np.maximum(np.log(max(n_items, 1)) - np.log1p(user_df), 0.0)
    item_len = np.bincount(matrix.indices, weights=matrix.data, minlength=n_items)
    avg = item_len[item_len > 0].mean() if np.any(item_len > 0) else 1.0
    length_norm = (1.0 - b) + b * item_len / avg
    data = matrix.data
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    weighted = data * (k1 + 1.0) / (k1 * length_norm[matrix.indices] + data) * idf[rows]
    out = sp.csr_matrix((weighted, matrix.indices, matrix.indptr), shape=matrix.shape)
    return out.astype(np.float32)


def block_bounds(cost: np.ndarray, budget: float, max_rows: int) -> list[tuple[int, int]]:
    """Split ``0..len(cost)`` into consecutive blocks of total ``cost`` <= budget (>= 1 row each)."""
    bounds = []
    start, n = 0, len(cost)
    cumulative = np.concatenate([[0.0], np.cumsum(cost, dtype=np.float64)])
    while start < n:
        stop = int(np.searchsorted(cumulative, cumulative[start] + budget, side="right")) - 1
        stop = min(max(stop, start + 1), start + max_rows, n)
        bounds.append((start, stop))
        start = stop
    return bounds


class ItemKNN:
    """Top-K item neighbourhood model (a ``Recommender``)."""

    name = "itemknn"

    def __init__(
        self,
        k: int = 50,
        similarity: Similarity = "cosine",
        alpha: float = 0.5,
        shrink: float = 0.0,
        chunk_size: int = 2048,
        block_budget: float = 5e6,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
    ) -> None:
        if similarity not in ("cosine", "bm25", "asymmetric"):
            raise ValueError(f"unknown similarity {similarity!r}")
        self.k = k
        self.similarity_kind: Similarity = similarity
        self.alpha = alpha
        self.shrink = shrink
        self.chunk_size = chunk_size
        self.block_budget = block_budget
        self.bm25_k1, self.bm25_b = bm25_k1, bm25_b
        self.similarity: sp.csr_matrix | None = None

    def _prepare(self, matrix: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray | None, np.ndarray | None]:
        """The matrix whose column dot products are needed and the row/column denominators.

        Returns ``(weighted, left, right)``; when ``left``/``right`` are None the columns were
        scaled up front and the dot products are already the similarities.
        """
        if self.similarity_kind == "bm25":
            return bm25_weight(matrix, self.bm25_k1, self.bm25_b), None, None
        norms = column_norms(matrix)
        if self.similarity_kind == "cosine":
            left = right = norms
        else:
            left, right = norms ** (2 * self.alpha), norms ** (2 * (1 - self.alpha))
        if self.shrink == 0 and self.similarity_kind == "cosine":
            return scale_columns(matrix, safe_inverse(norms)), None, None
        return matrix, left, right

    def fit(self, interactions: sp.csr_matrix) -> Self:
        matrix = as_csr(interactions)
        n_items = matrix.shape[1]
        weighted, left, right = self._prepare(matrix)
        item_users = weighted.T.tocsr()
        # cost of a row of the product: sum over its users of their item counts
        user_len = np.diff(weighted.indptr).astype(np.float64)
        cost = np.bincount(weighted.indices, weights=user_len[_row_ids(weighted)], minlength=n_items)

        def block_topk(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            start, stop = bounds
            block = item_users[start:stop] @ weighted
            if left is not None and right is not None:
                rows = np.repeat(np.arange(start, stop), np.diff(block.indptr))
                denominator = left[rows] * right[block.indices] + self.shrink
                block.data = (block.data * safe_inverse(denominator)).astype(np.float32)
            return topk_per_row(block, self.k, row_offset=start, drop_diagonal=True)

        blocks = block_bounds(cost, self.block_budget, self.chunk_size)
        # (tried: two threads overlapping one block's product with the previous block's selection;
        # no gain measured, scipy's sparse product holds the GIL for most of the time)
        parts = [block_topk(b) for b in blocks]
        self.similarity = assemble(parts, (n_items, n_items))
        return self

    def _fitted(self) -> sp.csr_matrix:
        if self.similarity is None:
            raise RuntimeError("call fit() first")
        return self.similarity

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """Dense scores (rows x items): each history item votes for its neighbours."""
        return np.asarray((as_csr(history) @ self._fitted()).toarray(), dtype=np.float32)

    def neighbours(self, item_idx: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` most similar items to ``item_idx`` (indices, scores), best first."""
        similarity = self._fitted()
        lo, hi = similarity.indptr[item_idx], similarity.indptr[item_idx + 1]
        cols, vals = similarity.indices[lo:hi], similarity.data[lo:hi]
        order = np.lexsort((cols, -vals))[:n]
        return cols[order].astype(np.int64), vals[order]


def _row_ids(matrix: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
