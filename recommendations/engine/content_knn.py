"""Top-K content neighbours without scoring every pair of items.

Content vectors (:mod:`.content`) hold features that a large share of the catalogue has: a price
band and its two neighbours (about 60 % of all items), a top-level category, frequent words. Any
two items sharing one of them have a non-zero cosine, so the all-pairs product behind exact
neighbours is dense and costs ``n^2``: measured 25 s at 20,000 products and about ten times that
at 60,000 (``bench/scale.py``), hours at a million.

Here candidates come only from **rare** features (held by at most ``common_df`` items: a leaf
category, a brand, a specific word), so each item meets at most ``common_df`` others per rare
feature and the work grows linearly with the catalogue. Items whose similarity rests on common
features alone are represented by their group's **leaders**: items with exactly the same set of
common features form a group, and its ``k + 1`` members with the largest common-feature weight
are candidates for every item of the group. Every candidate is then scored with the full vectors
(the exact cosine), and each item keeps its top ``k``.

What can be missed: an item that shares no rare feature with ``i``, is outside ``i``'s group or
is not one of its leaders, yet beats ``i``'s K-th candidate. ``bench/scale.py`` measures the
overlap with the exact neighbours (docs/benchmarks.md, "Scale").
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._sparse import block_rows as csr_block
from ._sparse import stack, topk_per_row

#: a feature held by more items than this makes no candidates by itself (it still counts in scores)
COMMON_DF = 500


def _per_row_sum(matrix: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (one per stored entry) over each row; wraps around for unsigned ints."""
    cumulative = np.concatenate([np.zeros(1, dtype=values.dtype), np.cumsum(values, dtype=values.dtype)])
    return cumulative[matrix.indptr[1:]] - cumulative[matrix.indptr[:-1]]


def _leaders(
    vectors: sp.csr_matrix, common: np.ndarray, take: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's group (same set of common columns) and the groups' ``take`` heaviest members.

    Returns ``(group of each row, leaders_indptr, leaders)``: the leaders of group ``g`` are
    ``leaders[leaders_indptr[g]:leaders_indptr[g + 1]]``.
    """
    n, n_cols = vectors.shape
    is_common = common[vectors.indices]
    salt = np.random.default_rng(0).integers(1, 2**63, n_cols, dtype=np.uint64)
    signature = _per_row_sum(vectors, np.where(is_common, salt[vectors.indices], np.uint64(0)))
    weight = _per_row_sum(vectors, np.where(is_common, np.square(vectors.data, dtype=np.float64), 0.0))
    _, group = np.unique(signature, return_inverse=True)
    group = group.ravel()
    order = np.lexsort((np.arange(n), -weight, group))
    sorted_groups = group[order]
    rank = np.arange(n) - np.searchsorted(sorted_groups, sorted_groups)
    leaders = order[rank < take]
    counts = np.bincount(group[leaders], minlength=int(group.max()) + 1 if n else 0)
    return group, np.concatenate([[0], np.cumsum(counts)]), leaders


def _union(a: sp.csr_matrix, b: sp.csr_matrix) -> sp.csr_matrix:
    """``a + b`` keeping every stored position of either, explicit zeros included."""
    a, b = a.tocoo(), b.tocoo()
    out = sp.csr_matrix(
        (
            np.concatenate([a.data, b.data]).astype(np.float32),
            (np.concatenate([a.row, b.row]), np.concatenate([a.col, b.col])),
        ),
        shape=a.shape,
    )
    out.sum_duplicates()  # sums, and keeps zero-valued entries (no eliminate_zeros)
    return out


def _row_dots(vectors: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``vectors[rows[p]] . vectors[cols[p]]`` for every pair ``p``."""
    if not rows.size:
        return np.empty(0, dtype=np.float32)
    products = vectors[rows].multiply(vectors[cols])
    return np.asarray(products.sum(axis=1), dtype=np.float32).ravel()


def content_neighbours_bounded(
    vectors: sp.csr_matrix, k: int, common_df: int = COMMON_DF, block_rows: int = 256
) -> sp.csr_matrix:
    """Top-``k`` cosine neighbours of L2-normalised item vectors from rare-feature candidates and
    group leaders (see the module docstring); items x items CSR, self excluded."""
    vectors = sp.csr_matrix(vectors, dtype=np.float32)
    vectors.sort_indices()
    n = vectors.shape[0]
    df = np.bincount(vectors.indices, minlength=vectors.shape[1])
    common = df > common_df
    rare = vectors.copy()
    rare.data[common[rare.indices]] = 0.0
    rare.eliminate_zeros()
    rare_t = rare.T.tocsr()
    common_part = vectors - rare  # the same vectors restricted to common columns
    common_part.eliminate_zeros()
    group, leaders_indptr, leaders = _leaders(vectors, common, k + 1)
    parts = []
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        # the rare part of the score comes exact out of the candidate product ...
        shared = (rare[start:stop] @ rare_t).tocsr()
        own = group[start:stop]
        lengths = leaders_indptr[own + 1] - leaders_indptr[own]
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        lead_cols = leaders[np.repeat(leaders_indptr[own], lengths) + offsets]
        leads = sp.csr_matrix(
            (
                np.zeros(len(lead_cols), dtype=np.float32),
                lead_cols,
                np.concatenate([[0], np.cumsum(lengths)]),
            ),
            shape=(stop - start, n),
        )
        # ... (a sparse sum keeps each candidate once; explicit zeros mark leaders-only pairs)
        candidates = _union(shared, leads)
        rows = np.repeat(np.arange(start, stop), np.diff(candidates.indptr))
        cols = candidates.indices
        # ... and the common part is added pair by pair (few stored values per row)
        candidates.data = candidates.data + _row_dots(common_part, rows, cols)
        candidates.data[rows == cols] = 0.0  # the item itself
        # each block kept as compact CSR rows (at 1M items the triples of every block were ~1 GB)
        parts.append(csr_block(topk_per_row(candidates, k, row_offset=start), start, stop, n))
    return stack(parts, (n, n))
