"""EASE: an item-item model with a closed-form solution (Steck 2019, "Embarrassingly Shallow
Autoencoders for Sparse Data").

``B = I - P diag(1 / diag(P))`` with ``P = (X^T X + l2 I)^-1``, i.e. the ridge regression of every
item column on all the others with a zero diagonal. It is dense in the catalogue size, so it is the
right model for small and medium catalogues and the wrong one for large ones
(see :func:`choose_item_model`).
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ._sparse import as_csr

#: bytes EASE holds per catalogue cell at its peak: the float32 Gram matrix, inverted in place
#: by Cholesky (LAPACK potrf/potri), plus the float32 weight matrix built from it.
EASE_BYTES_PER_CELL = 2 * 4


_BLOCK = 2048


def _mirror_lower(matrix: np.ndarray) -> None:
    """Copy the lower triangle onto the upper one, in place, block by block (no n^2 temporary)."""
    n = matrix.shape[0]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        matrix[start:stop, stop:] = matrix[stop:, start:stop].T
        block = matrix[start:stop, start:stop]
        block[np.triu_indices(stop - start, 1)] = block.T[np.triu_indices(stop - start, 1)]


def ease_memory_bytes(n_items: int) -> int:
    """Peak memory of fitting EASE on ``n_items`` items (two dense float32 n x n matrices)."""
    return EASE_BYTES_PER_CELL * n_items * n_items


def choose_item_model(n_items: int, max_ease_items: int = 10_000) -> Literal["ease", "itemknn"]:
    """``"ease"`` while the catalogue is at most ``max_ease_items``, else ``"itemknn"``.

    Time and memory rule: EASE needs ``8 * n_items**2`` bytes at its peak (0.8 GB for 10,000
    items, 3.2 GB for 20,000) and a dense n^3 Cholesky inverse. Measured with
    ``bench/engine.py`` on two shared cores (see docs/benchmarks.md, ``## Engine``): ~200-330 s at
    20,000 items, which dominated a full rebuild; n^3 scaling puts 10,000 items at about 1/8 of
    that, and the bench's own EASE-by-size line gives the measured figure. Scoring also touches a
    dense n x n matrix. Item-kNN keeps K neighbours per item (``12 * K * n_items`` bytes) and
    scales to any catalogue. The default cap (10,000, the same as the Django setting
    ``RECOMMENDATIONS_EASE_MAX_ITEMS``) keeps EASE under ~0.8 GB and well under a minute.
    """
    if n_items <= 0:
        raise ValueError("n_items must be positive")
    return "ease" if n_items <= max_ease_items else "itemknn"


class EASE:
    """Closed-form linear item-item model (a ``Recommender``)."""

    name = "ease"

    def __init__(self, l2: float = 200.0, dtype: type = np.float32) -> None:
        self.l2 = l2
        self.dtype = dtype
        self.weights: np.ndarray | None = None

    def fit(self, interactions: sp.csr_matrix) -> Self:
        matrix = as_csr(interactions, self.dtype)
        item_users = matrix.T.tocsr()
        gram = np.zeros((matrix.shape[1], matrix.shape[1]), dtype=self.dtype, order="F")
        for start in range(0, matrix.shape[1], _BLOCK):  # dense Gram without a sparse n^2 copy
            gram[start : start + _BLOCK] = (item_users[start : start + _BLOCK] @ matrix).toarray()
        gram[np.diag_indices_from(gram)] += self.l2
        # SPD: Cholesky-based inverse in place (half the flops of a general inverse, no copy)
        factor, info = scipy.linalg.lapack.get_lapack_funcs("potrf", (gram,))(
            gram, lower=True, overwrite_a=True, clean=False
        )
        if info != 0:
            raise np.linalg.LinAlgError(f"Gram matrix is not positive definite (potrf info={info})")
        inverse, info = scipy.linalg.lapack.get_lapack_funcs("potri", (factor,))(
            factor, lower=True, overwrite_c=True
        )
        if info != 0:
            raise np.linalg.LinAlgError(f"inverse failed (potri info={info})")
        _mirror_lower(inverse)  # potri fills the lower triangle only
        diagonal = np.diag(inverse).copy()
        inverse /= -diagonal[None, :]
        np.fill_diagonal(inverse, 0.0)
        self.weights = np.ascontiguousarray(inverse, dtype=self.dtype)
        return self

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """Dense scores (rows x items): ``history @ B``."""
        if self.weights is None:
            raise RuntimeError("call fit() first")
        return np.asarray(as_csr(history, self.dtype) @ self.weights)


#: multiples of the mean item weight (mean diagonal of X^T X) the validation tries for ``l2``:
#: Steck's published optima (ML-20M 500, MSD 200) sit near 0.5-1x that mean on those data sets.
L2_MULTIPLES = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)


def l2_grid(interactions: sp.csr_matrix, multiples: tuple[float, ...] = L2_MULTIPLES) -> list[float]:
    """Candidate ``l2`` values scaled to the data: ``multiples`` of the mean diagonal of the Gram
    matrix (a fixed ``l2`` is far too strong on a small shop and too weak on a big one)."""
    matrix = as_csr(interactions, np.float64)
    diagonal = np.bincount(matrix.indices, weights=np.square(matrix.data), minlength=matrix.shape[1])
    base = float(diagonal[diagonal > 0].mean()) if (diagonal > 0).any() else 1.0
    return [round(base * m, 4) for m in multiples]
