"""What the self-evaluation (:mod:`.selection`) measures: each query's normalised top lists,
the per-query NDCG@k of a weighted blend of them, the geometric-mean objective over splits, and
the paired standard errors that decide whether a richer choice really wins."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from . import validation as v
from ._sparse import row_thresholds
from .base import in_sorted
from .candidates import Params


def param_key(params: Params) -> str:
    """One string per hyper-parameter point (the key of :attr:`Selection.fitted`)."""
    return repr(sorted(params.items()))


def top_lists(block: np.ndarray, exclude: sp.csr_matrix | None, top_n: int) -> sp.csr_matrix:
    """The ``top_n`` positive scores of each row, divided by the row's best (as blend's "max")."""
    top = v.ranked(block, top_n, exclude)
    rows = np.repeat(np.arange(len(top)), top.shape[1])
    cols = top.ravel()
    ok = cols >= 0
    vals = block[rows[ok], cols[ok]].astype(np.float64)
    best = np.zeros(len(top))
    np.maximum.at(best, rows[ok], vals)
    vals = vals / best[rows[ok]]
    return sp.csr_matrix((vals, (rows[ok], cols[ok])), shape=block.shape)


def sparse_top_lists(
    scores: sp.csr_matrix,
    exclude: sp.csr_matrix | None,
    top_n: int,
    dense: Callable[[np.ndarray], np.ndarray] | None = None,
) -> sp.csr_matrix:
    """:func:`top_lists` of ``scores.toarray()`` (float64), without the dense rows: each row's
    stored scores are sorted instead of partitioning every item. The same lists, entries in the same
    order: the best score first, ties to the lower item. A row whose ``top_n``-th and next scores tie
    is ranked densely by :func:`top_lists` (:func:`.validation.ranked`'s partition picks among such
    ties its own way), so every list is the dense one. ``dense(rows)``: those rows' whole scores
    when ``scores`` holds only each row's best ones (:func:`shared_top_lists`)."""
    scores = sp.csr_matrix(scores)
    n, n_items = scores.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(scores.indptr))
    cols = scores.indices.astype(np.int64)
    vals = scores.data.astype(np.float64)
    # rankable as in validation.ranked: positive, finite, not excluded
    ok = (vals > 0) & np.isfinite(vals)
    if exclude is not None and exclude.nnz:
        coo = exclude.tocoo()
        ok &= ~in_sorted(rows * n_items + cols, np.sort(coo.row.astype(np.int64) * n_items + coo.col))
    rows, cols, vals = rows[ok], cols[ok], vals[ok]
    # only the entries at or above each row's (top_n + 1)-th score (a value-only partition) can be
    # among its first top_n + 1 in the sort below, the ones the lists and the tie check read
    counts = np.bincount(rows, minlength=n)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    take = row_thresholds(sp.csr_matrix((vals, cols, indptr), shape=(n, n_items)), top_n + 1)
    near = vals >= take[rows]
    rows, cols, vals = rows[near], cols[near], vals[near]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    counts = np.bincount(rows, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(rows)) - starts[rows]
    # rows with more than top_n rankable scores whose last kept and first dropped ones tie
    long = np.flatnonzero(counts > top_n)
    tied = long[vals[starts[long] + top_n - 1] == vals[starts[long] + top_n]] if top_n > 0 else long[:0]
    is_tied = np.zeros(n, dtype=bool)
    is_tied[tied] = True
    keep = (pos < top_n) & ~is_tied[rows]
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    best = np.zeros(n)
    np.maximum.at(best, rows, vals)
    vals = vals / best[rows]
    if len(tied):
        rows_of_tied = scores[tied].toarray().astype(np.float64) if dense is None else dense(tied)
        part = top_lists(rows_of_tied, None if exclude is None else exclude[tied], top_n)
        part = part.tocoo()
        rows = np.concatenate([rows, tied[part.row]])
        cols = np.concatenate([cols, part.col.astype(np.int64)])
        vals = np.concatenate([vals, part.data])
    # built as top_lists builds it (the constructor sorts each row's items)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n_items))


def dense_top_lists(block: np.ndarray, exclude: sp.csr_matrix | None, top_n: int) -> sp.csr_matrix:
    """:func:`top_lists` of ``block`` as float64 (a model's dense queries x items scores, any float
    type) by a value-only partition in the block's own precision (a float32 score converts to
    float64 exactly, in the same order): only each row's rankable scores at or above its
    ``top_n + 1``-th go to :func:`sparse_top_lists`, which ranks the whole row where a tie crosses
    the cut. ``np.partition`` of float32 values takes 0.6 of ``argpartition`` of the float64 copy
    that :func:`.validation.ranked` partitions."""
    block = np.asarray(block)
    if not np.issubdtype(block.dtype, np.floating):
        block = block.astype(np.float64)
    n, n_items = block.shape
    if top_n + 1 >= n_items:
        return top_lists(block.astype(np.float64), exclude, top_n)
    # as validation.ranked: the unrankable (non-positive, non-finite, excluded) set to +inf
    neg = np.negative(block)
    rankable = neg < 0
    rankable &= neg > -np.inf
    np.copyto(neg, np.inf, where=~rankable)
    if exclude is not None and exclude.nnz:
        coo = exclude.tocoo()
        neg[coo.row, coo.col] = np.inf
    kth = np.partition(neg, top_n, axis=1)[:, top_n : top_n + 1]
    near = neg <= kth
    near &= rankable  # (excluded entries are +inf: above any finite kth, and never kept)
    rows, cols = np.nonzero(near)  # row by row, items ascending
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))]
    scores = sp.csr_matrix((block[rows, cols].astype(np.float64), cols, indptr), shape=(n, n_items))
    return sparse_top_lists(scores, exclude, top_n, dense=lambda tied: block[tied].astype(np.float64))


def shared_top_lists(
    row: np.ndarray, n_queries: int, exclude: sp.csr_matrix | None, top_n: int
) -> sp.csr_matrix:
    """:func:`top_lists` of ``row`` repeated for ``n_queries`` queries (a model that scores every
    query the same: popularity), without the dense block. A query can lose at most its excluded
    items from the best ones, so only the ``top_n + 1`` best rankable items plus as many as the most
    excluded query has (and whatever ties the last of them) can be among its first ``top_n + 1``:
    :func:`sparse_top_lists` ranks those, and the whole row where a tie crosses the cut."""
    row = np.asarray(row, dtype=np.float64)
    rankable = np.flatnonzero((row > 0) & np.isfinite(row))
    best = rankable[np.lexsort((rankable, -row[rankable]))]  # best first, ties to the lower item
    wanted = top_n + 1 + (int(np.diff(exclude.indptr).max()) if exclude is not None and n_queries else 0)
    if wanted < len(best):
        best = best[row[best] >= row[best[wanted - 1]]]
    items = np.sort(best)
    scores = sp.csr_matrix(
        (np.tile(row[items], n_queries), np.tile(items, n_queries), np.arange(n_queries + 1) * len(items)),
        shape=(n_queries, len(row)),
    )
    return sparse_top_lists(scores, exclude, top_n, dense=lambda rows: np.tile(row, (len(rows), 1)))


def blend_ndcg(lists: list[tuple[sp.csr_matrix, float]], targets: list[np.ndarray], k: int) -> np.ndarray:
    """Per-query NDCG@k of the weighted sum of normalised lists (ties to the lower item)."""
    total = lists[0][0] * lists[0][1]
    for matrix, weight in lists[1:]:
        total = total + matrix * weight
    total = sp.csr_matrix(total)
    total.sum_duplicates()  # canonical: every row's items ascending
    n, n_items = total.shape
    lengths = np.diff(total.indptr)
    width = max(int(lengths.max()) if n else 0, 1)
    # each row's entries side by side (rows hold at most a few top_n lists), so one stable sort per
    # row ranks them: the higher score first, the lower item first on ties (items are ascending)
    rows = np.repeat(np.arange(n), lengths)
    pos = np.arange(total.nnz) - total.indptr[rows]
    padded = np.full((n, width), np.inf)
    padded[rows, pos] = np.where(total.data > 0, -total.data, np.inf)
    items = np.full((n, width), -1, dtype=np.int64)
    items[rows, pos] = total.indices
    padded, items = _contenders(padded, items, k)
    order = np.argsort(padded, axis=1, kind="stable")[:, :k]
    top = np.where(
        np.isfinite(np.take_along_axis(padded, order, axis=1)), np.take_along_axis(items, order, 1), -1
    )
    target_rows = np.repeat(np.arange(len(targets)), [len(t) for t in targets])
    target_keys = target_rows * n_items + (np.concatenate(targets) if targets else np.empty(0, np.int64))
    keys = np.where(top >= 0, np.arange(n)[:, None] * n_items + top, -1)
    hit = in_sorted(keys, np.sort(target_keys)) & (top >= 0)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hit * discounts[: top.shape[1]]).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum([len(t) for t in targets], k) - 1] if targets else np.zeros(0)
    return dcg / ideal


def _contenders(padded: np.ndarray, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The entries of each row that can be among its ``k`` first in a stable sort: those at or
    below the row's ``k``-th smallest finite value, kept side by side in their order (the stable
    sort of these gives the same first ``k``; the rest of a row is ``+inf``, which ranks nothing)."""
    width = padded.shape[1]
    if width <= k:
        return padded, items
    kth = np.partition(padded, k - 1, axis=1)[:, k - 1 : k]
    keep = (padded <= kth) & np.isfinite(padded)
    rows, cols = np.nonzero(keep)  # row by row, positions ascending
    counts = np.bincount(rows, minlength=len(padded))
    narrow = max(int(counts.max()) if len(counts) else 0, 1)
    if narrow >= width:
        return padded, items
    pos = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    out = np.full((len(padded), narrow), np.inf)
    out[rows, pos] = padded[rows, cols]
    out_items = np.full((len(padded), narrow), -1, dtype=items.dtype)
    out_items[rows, pos] = items[rows, cols]
    return out, out_items


def objective(ndcg: dict[str, float], names: tuple[str, ...]) -> float:
    values = [max(ndcg[n], 1e-9) for n in names if n in ndcg]
    return float(np.exp(np.mean(np.log(values)))) if values else 0.0


def paired_gain(
    new: dict[str, np.ndarray], old: dict[str, np.ndarray], names: tuple[str, ...]
) -> tuple[float, float]:
    """The log-ratio of the objectives (geometric means over ``names``) of two blends scored on the
    same queries, and its standard error from the paired per-query differences (delta method:
    ``var(log(mean_new / mean_old)) ~ var(mean difference) / mean_old^2`` per split, the splits
    independent). A gain of ``z`` standard errors is what chance alone rarely gives."""
    gains, variances = [], []
    for name in names:
        a, b = new[name], old[name]
        base = max(float(b.mean()), 1e-9)
        gains.append(np.log(max(float(a.mean()), 1e-9) / base))
        diff = a - b
        var = float(diff.var(ddof=1)) / len(diff) if len(diff) > 1 else np.inf
        variances.append(var / base**2)
    if not names:
        return 0.0, np.inf
    return float(np.mean(gains)), float(np.sqrt(np.sum(variances)) / len(names))


def significant_loss(new: np.ndarray, old: np.ndarray, z: float) -> bool:
    """Whether ``new`` is worse than ``old`` on the same queries by more than ``z`` standard errors
    of the paired difference."""
    diff = new - old
    if len(diff) < 2:
        return False
    return bool(diff.mean() < -z * diff.std(ddof=1) / np.sqrt(len(diff)))


def summary(per_query: dict[str, np.ndarray], names: tuple[str, ...]) -> dict[str, float]:
    out = {n: float(per_query[n].mean()) for n in names}
    out["objective"] = objective(out, names)
    return out
