"""Small sparse-matrix helpers shared by the neighbourhood models (private)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while many tiny products run (threadpoolctl, when installed).

    OpenBLAS's threads cost far more than they save on (1000 x 64) @ (64 x 64) products: on a
    busy two-core machine such a product took 6 ms threaded and 0.3 ms single-threaded.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed-up
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def as_csr(matrix: sp.spmatrix | sp.sparray | np.ndarray, dtype: type = np.float32) -> sp.csr_matrix:
    """A CSR copy-free view where possible, in ``dtype``, with sorted indices."""
    out = sp.csr_matrix(matrix, dtype=dtype)
    if not out.has_sorted_indices:
        out.sort_indices()
    return out


def column_norms(matrix: sp.csr_matrix) -> np.ndarray:
    """L2 norm of every column (float64)."""
    squares = np.bincount(
        matrix.indices, weights=np.square(matrix.data, dtype=np.float64), minlength=matrix.shape[1]
    )
    return np.sqrt(squares)


def row_norms(matrix: sp.csr_matrix) -> np.ndarray:
    """L2 norm of every row (float64)."""
    squares = np.add.reduceat(
        np.concatenate([np.square(matrix.data, dtype=np.float64), [0.0]]),
        np.minimum(matrix.indptr[:-1], matrix.nnz),
    )
    squares[np.diff(matrix.indptr) == 0] = 0.0
    return np.sqrt(squares)


def scale_rows(matrix: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """``diag(factors) @ matrix`` without building the diagonal matrix."""
    out = matrix.copy()
    out.data = (out.data * np.repeat(factors, np.diff(out.indptr))).astype(matrix.dtype, copy=False)
    return out


def scale_columns(matrix: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """``matrix @ diag(factors)`` without building the diagonal matrix."""
    out = matrix.copy()
    out.data = (out.data * factors[out.indices]).astype(matrix.dtype, copy=False)
    return out


def safe_inverse(values: np.ndarray) -> np.ndarray:
    """``1 / values`` with 0 where ``values`` is 0."""
    out = np.zeros_like(values, dtype=np.float64)
    nz = values != 0
    out[nz] = 1.0 / values[nz]
    return out


def topk_per_row(
    matrix: sp.csr_matrix, k: int, row_offset: int = 0, drop_diagonal: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` largest strictly positive entries of every row, as ``(rows, cols, values)``.

    Vectorised over ragged rows: the k-th largest value of each long row is found with a
    value-only ``np.partition`` on rows padded per length bucket (powers of two, so padding at
    most doubles the work), then one pass keeps the entries at or above it. ``row_offset`` is
    added to returned rows (for a block of a bigger matrix). With ``drop_diagonal`` the entry at
    column ``row + row_offset`` is excluded: the top ``k + 1`` are taken and the diagonal (or,
    when it is not among them, the last one) dropped, which avoids a masking pass over the block.
    """
    take = k + 1 if drop_diagonal else k
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    n_rows = matrix.shape[0]
    lengths = np.diff(indptr)
    threshold = np.full(n_rows, -np.inf, dtype=data.dtype)
    long_rows = np.flatnonzero(lengths > take)
    if long_rows.size:
        buckets = np.ceil(np.log2(lengths[long_rows] / take)).astype(np.int64)
        for bucket in np.unique(buckets):
            rows = long_rows[buckets == bucket]
            threshold[rows] = _kth_largest(data, indptr, lengths, rows, take)
    keep = data >= np.repeat(threshold, lengths)
    counts = np.add.reduceat(keep, indptr[:-1]) if data.size else np.zeros(n_rows, dtype=np.int64)
    counts[lengths == 0] = 0
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    cols, vals = indices[keep], data[keep]
    # order each row best first (ties by column) so cutting to ``take`` and dropping is exact
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    selected = rank < take
    if drop_diagonal:
        is_diag = cols == rows + row_offset
        has_diag = np.zeros(n_rows, dtype=bool)
        has_diag[rows[is_diag & selected]] = True
        selected &= ~is_diag & ((rank < k) | has_diag[rows])
    selected &= vals > 0
    return rows[selected] + row_offset, cols[selected], vals[selected]


def _kth_largest(
    data: np.ndarray, indptr: np.ndarray, lengths: np.ndarray, rows: np.ndarray, k: int
) -> np.ndarray:
    """The k-th largest value of each of ``rows`` (all longer than k), via a padded partition."""
    row_len = lengths[rows]
    width = int(row_len.max())
    padded = np.full((len(rows), width), -np.inf, dtype=data.dtype)
    valid = np.arange(width)[None, :] < row_len[:, None]
    starts = np.repeat(indptr[rows] - np.concatenate([[0], np.cumsum(row_len)[:-1]]), row_len)
    padded[valid] = data[starts + np.arange(int(row_len.sum()))]
    return np.partition(padded, width - k, axis=1)[:, width - k]


def assemble(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], shape: tuple[int, int], dtype: type = np.float32
) -> sp.csr_matrix:
    """Build a CSR matrix from ``(rows, cols, values)`` triples (no duplicates expected)."""
    if parts:
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        vals = np.concatenate([p[2] for p in parts]).astype(dtype, copy=False)
    else:
        rows = cols = np.empty(0, dtype=np.int64)
        vals = np.empty(0, dtype=dtype)
    out = sp.csr_matrix((vals, (rows, cols)), shape=shape, dtype=dtype)
    out.sort_indices()
    return out
