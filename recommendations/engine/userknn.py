"""User-based collaborative filtering: a row is scored by its K most similar training users.

Similarity is cosine between binary-or-weighted history rows (with an optional shrink term in the
denominator). Rows need not be training users: a brand-new shopper's history row works the same
way. A training user scoring its own row finds itself as the most similar neighbour; pass its
index in ``exclude_users`` to leave it out.

With ``exclude_history`` a row's own items score 0: they found the neighbours, they are not what
user-kNN recommends. In a max-normalised blend (:func:`.hybrid.blend`) the model's best score is
then its best new item, as the self-evaluation normalises it (after excluding the seen items) and
as serving scores a shopper's anchors; else the own items, which every neighbour shares, set the
maximum and shrink the model's effective weight.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from ._sparse import as_csr, assemble, row_norms, safe_inverse, topk_per_row


class UserKNN:
    """Top-K user neighbourhood model (a ``Recommender``)."""

    name = "userknn"

    def __init__(
        self, k: int = 50, shrink: float = 0.0, chunk_size: int = 1024, exclude_history: bool = False
    ) -> None:
        self.k = k
        self.shrink = shrink
        self.exclude_history = exclude_history
        self.chunk_size = chunk_size
        self.interactions: sp.csr_matrix | None = None
        self._item_users: sp.csr_matrix | None = None
        self._norms: np.ndarray | None = None

    def fit(self, interactions: sp.csr_matrix) -> Self:
        matrix = as_csr(interactions)
        self.interactions = matrix
        self._norms = row_norms(matrix)
        self._item_users = matrix.T.tocsr()
        return self

    def neighbours(self, history: sp.csr_matrix, exclude_users: np.ndarray | None = None) -> sp.csr_matrix:
        """rows x users similarity matrix keeping the top K users per row."""
        if self.interactions is None or self._item_users is None or self._norms is None:
            raise RuntimeError("call fit() first")
        history = as_csr(history)
        norms = row_norms(history)
        parts = []
        for start in range(0, history.shape[0], self.chunk_size):
            block = history[start : start + self.chunk_size]
            dots = (block @ self._item_users).tocsr()  # rows x users
            rows = np.repeat(np.arange(block.shape[0]), np.diff(dots.indptr))
            denominator = norms[start + rows] * self._norms[dots.indices] + self.shrink
            dots.data = (dots.data * safe_inverse(denominator)).astype(np.float32)
            if exclude_users is not None:
                excluded = np.asarray(exclude_users)[start : start + block.shape[0]]
                dots.data[dots.indices == excluded[rows]] = 0.0
            parts.append(topk_per_row(dots, self.k, row_offset=start))
        shape = (history.shape[0], self.interactions.shape[0])
        return assemble(parts, shape)

    def score(self, history: sp.csr_matrix, exclude_users: np.ndarray | None = None) -> np.ndarray:
        """Dense scores (rows x items): similarity-weighted sum of the neighbours' rows.

        ``exclude_users`` (one training-user index per history row, -1 for none) removes the row's
        own training user from its neighbours.
        """
        similarity = self.neighbours(history, exclude_users)
        assert self.interactions is not None
        scores = np.asarray((similarity @ self.interactions).toarray(), dtype=np.float32)
        if self.exclude_history:
            history = as_csr(history)
            rows = np.repeat(np.arange(history.shape[0]), np.diff(history.indptr))
            scores[rows, history.indices] = 0.0
        return scores

    def score_sparse(self, history: sp.csr_matrix, exclude_users: np.ndarray | None = None) -> sp.csr_matrix:
        """:meth:`score` before it is made dense (``score_sparse(h).toarray() == score(h)``); a
        row's own items, with ``exclude_history``, are stored zeros."""
        similarity = self.neighbours(history, exclude_users)
        assert self.interactions is not None
        scores = sp.csr_matrix(similarity @ self.interactions, dtype=np.float32)
        if self.exclude_history and scores.nnz:
            history = as_csr(history)
            n_items = scores.shape[1]
            rows = np.repeat(np.arange(scores.shape[0], dtype=np.int64), np.diff(scores.indptr))
            own_rows = np.repeat(np.arange(history.shape[0], dtype=np.int64), np.diff(history.indptr))
            own = own_rows * n_items + history.indices
            scores.data[np.isin(rows * n_items + scores.indices, own)] = 0.0
        return scores
