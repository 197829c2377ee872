"""Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) with conjugate gradient.

Preference ``p_ui = 1`` for every observed cell, confidence ``c_ui = 1 + alpha * r_ui``. Each
half-step solves, for every user u (then every item),
``(Y^T Y + lambda I + Y_u^T (C_u - I) Y_u) x_u = Y_u^T c_u`` approximately with a few conjugate
gradient steps warm-started from the previous x_u (Takacs, Pilaszy & Tikk 2011; the same scheme as
the ``implicit`` library's CPU solver).

Vectorisation: rows are processed in chunks of ~``chunk_nnz`` non-zeros. Per chunk the factors of
the chunk's columns are gathered once (a cache-sized ``nnz x f`` block) and reused by every CG
step; ``Y_u^T (w * Y_u p)`` for all rows of the chunk is one sampled dot product (einsum) and one
sparse @ dense product, so no Python loop runs per user.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Self

import numpy as np
import scipy.sparse as sp

from ._sparse import as_csr, single_threaded_blas


def _initial(rng: np.random.Generator, n: int, factors: int, dtype: type, rows: int = 1 << 16) -> np.ndarray:
    """``(rng.random((n, factors)) * 0.01).astype(dtype)``, the same values drawn ``rows`` rows at a
    time (the generator's stream is the same, split or not): no float64 copy of a whole 1M-item
    factor matrix (1 GiB at 128 factors, twice with the product) next to the result."""
    out = np.empty((n, factors), dtype=dtype)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        out[start:stop] = rng.random((stop - start, factors), dtype=np.float64) * 0.01
    return out


def _cg_half_step(
    confidence: sp.csr_matrix,
    x: np.ndarray,
    y: np.ndarray,
    regularization: float,
    cg_steps: int,
    chunk_nnz: int,
    threads: int = 1,
    row_regularization: np.ndarray | None = None,
) -> None:
    """Update every row of ``x`` in place; ``confidence.data`` holds ``alpha * r`` (= c - 1).

    ``row_regularization`` (one lambda per row) replaces the uniform ``regularization``.
    """
    f = y.shape[1]
    uniform = regularization if row_regularization is None else 0.0
    gram = (y.T @ y).astype(np.float64) + uniform * np.eye(f)
    gram = gram.astype(y.dtype)
    indptr = confidence.indptr
    n_rows = confidence.shape[0]
    bounds = []
    start = 0
    while start < n_rows:
        target = indptr[start] + chunk_nnz
        stop = int(np.searchsorted(indptr, target, side="right")) - 1
        stop = min(max(stop, start + 1), n_rows)
        bounds.append((start, stop))
        start = stop

    def run(bound: tuple[int, int]) -> None:
        lo, hi = bound
        ridge = None if row_regularization is None else row_regularization[lo:hi, None].astype(y.dtype)
        _cg_chunk(confidence[lo:hi], x[lo:hi], y, gram, cg_steps, ridge)

    if threads > 1 and len(bounds) > 1:
        # numpy's gathers, einsum and scipy's sparse @ dense release the GIL: chunks run in parallel
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, bounds))
    else:
        for bound in bounds:
            run(bound)


def _cg_chunk(
    block: sp.csr_matrix,
    x: np.ndarray,
    y: np.ndarray,
    gram: np.ndarray,
    steps: int,
    ridge: np.ndarray | None = None,
) -> None:
    lengths = np.diff(block.indptr)
    weight = block.data  # c - 1
    factors = y[block.indices]  # nnz x f, reused by every step
    # the same pattern pointing at the gathered rows: contiguous, cache-friendly sparse @ dense
    local = np.arange(block.nnz, dtype=block.indices.dtype)
    work = sp.csr_matrix((weight.copy(), local, block.indptr), shape=(block.shape[0], block.nnz))

    def sampled(v: np.ndarray) -> np.ndarray:
        return np.einsum("mf,mf->m", factors, np.repeat(v, lengths, axis=0))

    # residual r = b - A x = sum_i (c_i - (c_i - 1) y_i.x) y_i - (Y^T Y + lambda I) x
    work.data = (1.0 + weight) - weight * sampled(x)
    residual = work @ factors - x @ gram
    if ridge is not None:
        residual -= ridge * x
    direction = residual.copy()
    rs_old = np.einsum("uf,uf->u", residual, residual)
    for _ in range(steps):
        work.data = weight * sampled(direction)
        a_dir = direction @ gram + work @ factors
        if ridge is not None:
            a_dir += ridge * direction
        denominator = np.einsum("uf,uf->u", direction, a_dir)
        step = np.where(denominator > 0, rs_old / np.where(denominator > 0, denominator, 1), 0)
        x += step[:, None].astype(x.dtype) * direction
        residual -= step[:, None].astype(x.dtype) * a_dir
        rs_new = np.einsum("uf,uf->u", residual, residual)
        beta = np.where(rs_old > 1e-20, rs_new / np.where(rs_old > 1e-20, rs_old, 1), 0)
        direction = residual + beta[:, None].astype(x.dtype) * direction
        rs_old = rs_new


class ALS:
    """Implicit ALS with CG updates (a ``Recommender``); scores new rows by exact fold-in.

    ``frequency_scaling`` (nu, Rendle et al. 2022, "Revisiting the performance of iALS on item
    recommendation benchmarks") scales each row's regularisation with its weight in the loss:
    ``lambda_u = regularization * ((alpha n_u + N) / (alpha mean(n) + N)) ** nu`` where ``n_u`` is
    the row's number of observed cells and ``N`` the number of columns (every unobserved cell
    weighs 1 here, an observed one about ``alpha``). ``nu = 0`` (the default) is the classic
    uniform lambda; the normalisation keeps ``regularization`` comparable across ``nu``.
    """

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        iterations: int = 15,
        regularization: float = 0.01,
        alpha: float = 1.0,
        cg_steps: int = 3,
        seed: int = 0,
        dtype: type = np.float32,
        chunk_nnz: int = 16_384,
        threads: int | None = None,
        frequency_scaling: float = 0.0,
    ) -> None:
        self.factors = factors
        self.iterations = iterations
        self.regularization = regularization
        self.alpha = alpha
        self.cg_steps = cg_steps
        self.seed = seed
        self.dtype = dtype
        self.chunk_nnz = chunk_nnz
        self.threads = threads if threads is not None else min(os.cpu_count() or 1, 4)
        self.frequency_scaling = frequency_scaling
        self.user_factors: np.ndarray | None = None
        self.item_factors: np.ndarray | None = None

    def fit(self, interactions: sp.csr_matrix) -> Self:
        rng = np.random.default_rng(self.seed)

        def random_start(n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
            x = _initial(rng, n_users, self.factors, self.dtype)
            return x, _initial(rng, n_items, self.factors, self.dtype)

        return self._alternate(interactions, random_start, self.iterations)

    def refit(self, interactions: sp.csr_matrix, item_factors: np.ndarray, iterations: int) -> Self:
        """Fit from ``item_factors`` (the same columns: a fit of these hyper-parameters on a sample
        of the rows, say) for ``iterations`` alternations instead of from random factors: the
        rows are solved for first, so a few alternations bring a good start close to a full fit
        for a fraction of its cost."""

        def warm_start(n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
            if item_factors.shape != (n_items, self.factors):
                raise ValueError(
                    f"item factors of shape {item_factors.shape}; expected {(n_items, self.factors)}"
                )
            return np.zeros((n_users, self.factors), dtype=self.dtype), np.array(
                item_factors, dtype=self.dtype
            )

        return self._alternate(interactions, warm_start, iterations)

    def _alternate(
        self,
        interactions: sp.csr_matrix,
        start: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
        iterations: int,
    ) -> Self:
        """``iterations`` alternations (users, then items) from ``start(n_users, n_items)``."""
        user_items = as_csr(interactions, self.dtype)
        user_items.data = (self.alpha * user_items.data).astype(self.dtype)
        item_users = user_items.T.tocsr()
        item_users.sort_indices()
        n_users, n_items = user_items.shape
        x, y = start(n_users, n_items)
        user_reg = item_reg = None
        if self.frequency_scaling:
            user_reg = self._scaled(np.diff(user_items.indptr), n_items)
            item_reg = self._scaled(np.diff(item_users.indptr), n_users)
            self._user_norm = self.alpha * float(np.diff(user_items.indptr).mean()) + n_items
        with single_threaded_blas():
            for _ in range(iterations):
                for rows, mine, other, reg in ((user_items, x, y, user_reg), (item_users, y, x, item_reg)):
                    _cg_half_step(
                        rows, mine, other, self.regularization, self.cg_steps, self.chunk_nnz, self.threads,
                        reg,
                    )  # fmt: skip
        return self.adopt(x, y)

    def adopt(self, user_factors: np.ndarray, item_factors: np.ndarray) -> Self:
        """Take factors fitted elsewhere (another backend, a stored model) as this model's."""
        y = item_factors
        self.user_factors, self.item_factors = user_factors, y
        self._yty: np.ndarray = (y.T @ y).astype(np.float64)
        self._gram: np.ndarray = self._yty + self.regularization * np.eye(self.factors)
        return self

    def _scaled(self, counts: np.ndarray, n_cols: int) -> np.ndarray:
        weight = self.alpha * counts.astype(np.float64) + n_cols
        return self.regularization * (weight / weight.mean()) ** self.frequency_scaling

    def row_regularization(self, n_observed: int) -> float:
        """The lambda a (new) row with ``n_observed`` cells gets (the uniform one when nu = 0)."""
        if not self.frequency_scaling:
            return self.regularization
        weight = self.alpha * n_observed + self._fitted().shape[0]
        return self.regularization * (weight / self._user_norm) ** self.frequency_scaling

    def _fitted(self) -> np.ndarray:
        if self.item_factors is None:
            raise RuntimeError("call fit() first")
        return self.item_factors

    def fold_in(self, history_row: sp.csr_matrix | np.ndarray) -> np.ndarray:
        """Exact least-squares user factors for one history row, items fixed (no retraining)."""
        y = self._fitted()
        row = as_csr(history_row.reshape(1, -1) if isinstance(history_row, np.ndarray) else history_row)
        if row.shape[0] != 1:
            raise ValueError("fold_in takes one row; use score() for many")
        cols, values = row.indices, row.data.astype(np.float64) * self.alpha
        if cols.size == 0:
            return np.zeros(self.factors, dtype=self.dtype)
        factors = y[cols].astype(np.float64)
        gram = self._gram
        if self.frequency_scaling:
            gram = self._yty + self.row_regularization(cols.size) * np.eye(self.factors)
        system = gram + factors.T @ (values[:, None] * factors)
        rhs = factors.T @ (1.0 + values)
        return np.linalg.solve(system, rhs).astype(self.dtype)

    def user_vectors(self, history: sp.csr_matrix, chunk_nnz: int | None = None) -> np.ndarray:
        """Folded-in factors for every row of ``history`` (rows x factors): :meth:`fold_in`'s
        systems, built for a chunk of rows at once (one outer product per non-zero, summed per
        row) and solved as one batch, instead of a Python loop over the rows; a chunk holds about
        64 MiB of outer products (``chunk_nnz`` non-zeros)."""
        chunk_nnz = chunk_nnz or max(64, (64 << 20) // (8 * self.factors**2))
        history = as_csr(history)
        n, y = history.shape[0], self._fitted()
        out = np.zeros((n, self.factors), dtype=self.dtype)
        lengths = np.diff(history.indptr)
        start = 0
        while start < n:
            limit = int(np.searchsorted(history.indptr, history.indptr[start] + chunk_nnz, side="right")) - 1
            stop = min(max(limit, start + 1), n)
            rows = np.arange(start, stop)[lengths[start:stop] > 0]
            if len(rows):
                lo, hi = history.indptr[start], history.indptr[stop]
                factors = y[history.indices[lo:hi]].astype(np.float64)
                values = history.data[lo:hi].astype(np.float64) * self.alpha
                cuts = history.indptr[rows] - lo
                weighted = np.add.reduceat(np.einsum("nf,ng->nfg", values[:, None] * factors, factors), cuts)
                rhs = np.add.reduceat(factors * (1.0 + values)[:, None], cuts)
                ridge = np.array([self.row_regularization(int(c)) for c in lengths[rows]])
                system = weighted + self._yty + ridge[:, None, None] * np.eye(self.factors)
                out[rows] = np.linalg.solve(system, rhs[:, :, None])[:, :, 0].astype(self.dtype)
            start = stop
        return out

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """Dense scores (rows x items) from folded-in user vectors."""
        return self.user_vectors(history) @ self._fitted().T
