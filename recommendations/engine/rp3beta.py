"""RP3beta: a three-step random walk item-item graph model, popularity-penalised
(Paudel et al. 2017, "Updatable, accurate, diverse, and scalable recommendations for interactive
applications"; the strong baseline of Dacrema et al. 2019).

``W[i, j] = sum_u P(u | i)^alpha * P(j | u)^alpha / pop(j)^beta``, with ``P(u | i)`` the item's
column of the user x item matrix normalised to sum 1 and ``P(j | u)`` the user's row normalised to
sum 1; ``pop(j)`` is the number of users who touched ``j``. Only the ``k`` strongest neighbours
of every item are kept (self excluded), so the model is sparse like item-kNN and served the same
way (history @ W). ``beta`` trades accuracy on popular items for the long tail: 0 is plain P3alpha.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from ._sparse import as_csr, assemble, safe_inverse, scale_columns, scale_rows, topk_per_row


class RP3beta:
    """Random walk item-item model (a ``Recommender``)."""

    name = "rp3beta"

    def __init__(
        self,
        k: int = 100,
        alpha: float = 1.0,
        beta: float = 0.5,
        normalize: bool = False,
        binary: bool = False,
        block_items: int = 2048,
    ) -> None:
        if k <= 0:
            raise ValueError("k must be positive")
        self.k, self.alpha, self.beta = k, alpha, beta
        self.normalize, self.binary = normalize, binary
        self.block_items = block_items
        self.similarity: sp.csr_matrix | None = None

    def fit(self, interactions: sp.csr_matrix) -> Self:
        matrix = as_csr(interactions)
        if self.binary:
            matrix.data[:] = 1.0
        matrix.eliminate_zeros()
        n_items = matrix.shape[1]
        user_sums = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
        item_sums = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
        p_item_user = scale_rows(matrix.T.tocsr(), safe_inverse(item_sums))  # P(u | i), items x users
        p_user_item = scale_rows(matrix, safe_inverse(user_sums))  # P(j | u), users x items
        if self.alpha != 1.0:
            p_item_user.data = np.power(p_item_user.data, self.alpha, dtype=np.float64).astype(np.float32)
            p_user_item.data = np.power(p_user_item.data, self.alpha, dtype=np.float64).astype(np.float32)
        degree = np.diff(matrix.tocsc().indptr).astype(np.float64)
        penalty = safe_inverse(np.power(degree, self.beta)) if self.beta else (degree > 0).astype(np.float64)
        p_user_item = scale_columns(p_user_item, penalty)
        parts = []
        for start in range(0, n_items, self.block_items):
            # no sort_indices(): the top K of a row are chosen by value, ties by column, and
            # assemble() sorts what is kept, so the product's order changes nothing (and sorting
            # every block cost half the fit)
            block = (p_item_user[start : start + self.block_items] @ p_user_item).tocsr()
            if block.nnz:
                parts.append(_topk(block, self.k, start))
        similarity = assemble(parts, (n_items, n_items))
        if self.normalize:
            sums = np.asarray(similarity.sum(axis=1), dtype=np.float64).ravel()
            similarity = scale_rows(similarity, safe_inverse(sums))
        self.similarity = similarity
        return self

    def _fitted(self) -> sp.csr_matrix:
        if self.similarity is None:
            raise RuntimeError("call fit() first")
        return self.similarity

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """Dense scores (rows x items): ``history @ W``."""
        return np.asarray((as_csr(history) @ self._fitted()).toarray())

    def score_sparse(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """:meth:`score` before it is made dense (``score_sparse(h).toarray() == score(h)``)."""
        return sp.csr_matrix(as_csr(history) @ self._fitted())


def _topk(block: sp.csr_matrix, k: int, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    filled = np.flatnonzero(np.diff(block.indptr))  # the engine helper needs a non-empty last row
    return topk_per_row(block[: int(filled[-1]) + 1], k, row_offset=start, drop_diagonal=True)
