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
    threshold = row_thresholds(matrix, take)
    kept = np.flatnonzero(data >= np.repeat(threshold, np.diff(indptr)))
    rows = np.searchsorted(indptr, kept, side="right").astype(np.int64) - 1
    cols, vals = indices[kept], data[kept]
    counts = np.bincount(rows, minlength=n_rows)
    # most rows need no ordering: at most k kept, or exactly k + 1 of which one is the diagonal
    if drop_diagonal:
        is_diag = cols == rows + row_offset
        has_diag = np.zeros(n_rows, dtype=bool)
        has_diag[rows[is_diag]] = True
        simple = (counts <= k) | ((counts == take) & has_diag)
        selected = ~is_diag
    else:
        simple = counts <= k
        selected = np.ones(len(rows), dtype=bool)
    hard = np.flatnonzero(~simple[rows])
    if hard.size:  # ties at the threshold, or a diagonal outside the top k + 1: sort those rows
        h_rows, h_cols, h_vals = rows[hard], cols[hard], vals[hard]
        order = np.lexsort((h_cols, -h_vals, h_rows))
        hard, h_rows, h_cols = hard[order], h_rows[order], h_cols[order]
        rank = np.arange(len(hard)) - np.searchsorted(h_rows, h_rows)
        chosen = rank < take
        if drop_diagonal:
            h_diag = h_cols == h_rows + row_offset
            diag_in = np.zeros(n_rows, dtype=bool)
            diag_in[h_rows[h_diag & chosen]] = True
            chosen &= ~h_diag & ((rank < k) | diag_in[h_rows])
        selected[hard] = chosen
    selected &= vals > 0
    return rows[selected] + row_offset, cols[selected], vals[selected]


def row_thresholds(matrix: sp.csr_matrix, take: int) -> np.ndarray:
    """The ``take``-th largest stored value of every row (``-inf`` for rows with at most ``take``).

    Entries ``>= threshold`` are the row's top ``take`` plus any ties with the last one.
    """
    indptr, data = matrix.indptr, matrix.data
    lengths = np.diff(indptr)
    threshold = np.full(matrix.shape[0], -np.inf, dtype=data.dtype)
    long_rows = np.flatnonzero(lengths > take)
    if long_rows.size:
        buckets = np.ceil(np.log2(lengths[long_rows] / take)).astype(np.int64)
        for bucket in np.unique(buckets):
            rows = long_rows[buckets == bucket]
            threshold[rows] = _kth_largest(data, indptr, lengths, rows, take)
    return threshold


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


def block_rows(
    triples: tuple[np.ndarray, np.ndarray, np.ndarray],
    start: int,
    stop: int,
    n_cols: int,
    dtype: type = np.float32,
) -> sp.csr_matrix:
    """Rows ``start..stop`` of :func:`assemble` of ``triples`` (whose rows all lie there), as a
    CSR block: ``sp.vstack`` of consecutive blocks is :func:`assemble` of their triples, holding
    each block compact (no row array) instead of every triple until the end."""
    rows, cols, vals = triples
    out = sp.csr_matrix(
        (np.asarray(vals).astype(dtype, copy=False), (rows - start, cols)),
        shape=(stop - start, n_cols),
        dtype=dtype,
    )
    out.sort_indices()
    return out


def stack(blocks: list[sp.csr_matrix], shape: tuple[int, int], dtype: type = np.float32) -> sp.csr_matrix:
    """Consecutive :func:`block_rows` blocks as one matrix of ``shape``."""
    if not blocks:
        return sp.csr_matrix(shape, dtype=dtype)
    out = sp.csr_matrix(sp.vstack(blocks, format="csr", dtype=dtype))
    out.sort_indices()
    return out


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
