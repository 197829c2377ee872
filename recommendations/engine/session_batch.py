"""Many sequence queries scored at once: :class:`.session.SessionKNN` and
:class:`.session.Transitions` ``score_sequence`` of each query as the rows of one sparse matrix.

The self-evaluation scores thousands of queries per fit; one call per query spent most of its
time in Python and in scipy's indexing overhead, and each dense row then had to be ranked over the
whole catalogue. Here every step is one array operation over the whole batch, and only the items
some neighbour (or rule) gives a score are stored. Exact: the same floating-point sums in the same
order as one call per query (``np.bincount`` adds its weights in their order, as the per-query
code does), the same neighbours (the per-query ``argpartition`` is run on the same array), so the
rows are the per-query rows entry for entry (tests/engine/test_session_batch.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .base import unique


def _ragged(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows of ``lengths`` laid end to end: each entry's row and its position in the row."""
    lengths = np.asarray(lengths, dtype=np.int64)
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    starts = np.cumsum(lengths) - lengths
    return rows, np.arange(int(lengths.sum()), dtype=np.int64) - starts[rows]


def _gather(indptr: np.ndarray, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries of rows ``picks`` of a CSR-like ``indptr``, row by row in the given order:
    (index into ``picks``, index into the flat data)."""
    lengths = indptr[picks + 1] - indptr[picks]
    owner, offset = _ragged(lengths)
    return owner, indptr[picks][owner] + offset


def _sum_in_order(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``keys`` (ascending) and, for each, the sum of its ``weights`` added one by
    one in their order in the arrays (``np.bincount``'s order: what the per-query code's
    ``np.bincount`` over items gives, the queries' entries being apart)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]] if len(ordered) else np.zeros(0, dtype=bool)
    group = np.cumsum(first) - 1
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = group
    return ordered[first], np.bincount(inverse, weights=weights, minlength=int(first.sum()))


def _csr(keys: np.ndarray, sums: np.ndarray, n_queries: int, n_items: int) -> sp.csr_matrix:
    """Rows of (query * n_items + item) ascending keys as a canonical CSR matrix."""
    rows, cols = np.divmod(keys, n_items)
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n_queries))].astype(np.int64)
    return sp.csr_matrix((sums.astype(np.float64), cols, indptr), shape=(n_queries, n_items))


def _item_sessions(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """``model._item_sessions`` (item -> its sessions, most recent first) as one flat array."""
    flat = getattr(model, "_item_sessions_flat", None)
    if flat is None:
        lists = model._item_sessions
        indptr = np.r_[0, np.cumsum([len(s) for s in lists])].astype(np.int64)
        data = np.concatenate(lists).astype(np.int64) if lists else np.empty(0, np.int64)
        flat = model._item_sessions_flat = (indptr, data)
    return flat


def recency(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """A fitted :class:`.session.SessionKNN`'s sessions by recency: each session's place, newest
    first (ties: the lower id, as a stable sort of ascending ids by ``-end`` puts them), and the
    session at each place."""
    cached = getattr(model, "_recency", None)
    if cached is None:
        dtype = np.int32 if len(model._end) < 2**31 else np.int64  # kept with the model: small
        by_rank = np.argsort(-model._end, kind="stable").astype(dtype)
        rank = np.empty(len(by_rank), dtype=dtype)
        rank[by_rank] = np.arange(len(by_rank), dtype=dtype)
        cached = model._recency = (rank, by_rank)
    return cached


def knn_scores(
    model: Any, sequences: Sequence[np.ndarray], timestamps: Sequence[np.ndarray] | None = None
) -> sp.csr_matrix:
    """``model.score_sequence(sequences[i], timestamps[i])`` for every ``i`` (a fitted
    :class:`.session.SessionKNN`), as rows of a queries x items float64 CSR matrix."""
    n_q, n_items = len(sequences), model.n_items
    raw = [np.asarray(s, dtype=np.int64) for s in sequences]
    lengths = np.array([len(s) for s in raw], dtype=np.int64)
    q_of = np.repeat(np.arange(n_q, dtype=np.int64), lengths)
    items = np.concatenate(raw) if n_q else np.empty(0, np.int64)
    # neighbours(): the valid items, each with the 1-based position of its last occurrence
    valid = (items >= 0) & (items < n_items)
    q_of, items = q_of[valid], items[valid]
    n_valid = np.bincount(q_of, minlength=n_q)
    _, pos = _ragged(n_valid)
    order = np.lexsort((pos, items, q_of))
    last = np.r_[(q_of[order][1:] != q_of[order][:-1]) | (items[order][1:] != items[order][:-1]), True]
    pick = order[last] if len(order) else order
    uq, ui, up = q_of[pick], items[pick], (pos[pick] + 1).astype(np.float64)  # query, item ascending
    n_uniq = np.bincount(uq, minlength=n_q)
    w = _weights(model, up, n_valid[uq])
    if model.idf:
        w = w * model._idf[ui]
    # the sessions of each query's items, each once, by recency: the first sample_size kept (the
    # per-query code's stable argsort of -end over ascending ids is the recency order), ascending
    rank, by_rank = recency(model)
    s_indptr, s_data = _item_sessions(model)
    owner, at = _gather(s_indptr, ui)
    n_sessions = max(len(rank), 1)
    keys = uq[owner] * n_sessions + rank[s_data[at]]
    if n_q * n_sessions < 2**31:
        keys = keys.astype(np.int32)  # sorts in half the time
    keys = unique(keys)  # by one sort (numpy 2's np.unique hashes: slower)
    cq, place = np.divmod(keys, n_sessions)
    counts = np.bincount(cq, minlength=n_q)
    first = np.arange(len(keys)) - (np.cumsum(counts) - counts)[cq] < model.sample_size
    cand = np.sort(cq[first].astype(np.int64) * n_sessions + by_rank[place[first]])
    cq, cs = np.divmod(cand, n_sessions)
    # sim: each candidate's shared items' weights, summed in ascending item order (block @ w)
    pos_matrix = model._pos
    entry_of, at = _gather(pos_matrix.indptr, cs)
    e_items = pos_matrix.indices[at].astype(np.int64)
    query_keys = uq * n_items + ui  # ascending
    e_keys = cq[entry_of] * n_items + e_items
    slot = np.minimum(np.searchsorted(query_keys, e_keys), max(len(query_keys) - 1, 0))
    shared = query_keys[slot] == e_keys if len(query_keys) else np.zeros(len(e_keys), dtype=bool)
    sim = np.bincount(entry_of[shared], weights=w[slot[shared]], minlength=len(cs))
    if model.normalize:
        sim = sim / np.sqrt(model._n_unique[cs] * n_uniq[cq].astype(np.float64))
    if model.lambda_time is not None:
        ref = np.full(n_q, model._max_time)
        if timestamps is not None:
            for i, t in enumerate(timestamps):
                if t is not None and len(t):
                    ref[i] = float(t[-1])
        sim = sim * np.exp(-np.maximum(ref[cq] - model._end[cs], 0.0) / model.lambda_time)
    keep = sim > 0
    cq, cs, sim = cq[keep], cs[keep], sim[keep]
    # the k most similar, chosen by the per-query code's own argpartition on the same array
    counts = np.bincount(cq, minlength=n_q)
    starts = np.cumsum(counts) - counts
    chosen = [np.flatnonzero(counts[cq] <= model.k)]
    for q in np.flatnonzero(counts > model.k).tolist():
        part = sim[starts[q] : starts[q] + counts[q]]
        chosen.append(starts[q] + np.argpartition(-part, model.k - 1)[: model.k])
    neigh = np.concatenate(chosen)
    neigh = neigh[np.argsort(cq[neigh], kind="stable")]  # query by query, each in its own order
    nq, ns, nsim = cq[neigh], cs[neigh], sim[neigh]
    # score_sequence(): every neighbour's items, weighted by the neighbour's similarity
    row, at = _gather(pos_matrix.indptr, ns)
    cols = pos_matrix.indices[at].astype(np.int64)
    if model.lambda_ipw is None and model.backward_weight == 1.0:
        contrib = nsim[row]
    else:
        contrib = _ipw(model, raw, nq, row, cols, pos_matrix.data[at], nsim)
    keys, sums = _sum_in_order(nq[row] * n_items + cols, contrib)
    return _csr(keys, sums, n_q, n_items)


def _weights(model: Any, positions: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``SessionKNN._query_weights`` of every query's positions at once (``n`` per position)."""
    if model.lambda_spw is not None or model.weighting == "exp":
        lam = model.lambda_spw or 1.0
        return np.exp((positions - n) / lam)
    if model.weighting == "div":
        return positions / n
    if model.weighting == "linear":
        return np.maximum(1.0 - 0.1 * (n - positions), 0.0)
    return np.ones_like(positions, dtype=np.float64)


def _ipw(
    model: Any,
    raw: list[np.ndarray],
    nq: np.ndarray,
    row: np.ndarray,
    cols: np.ndarray,
    pos: np.ndarray,
    nsim: np.ndarray,
) -> np.ndarray:
    """score_sequence's item weights: the decay over the distance to each neighbour's most
    recent item of the query (the query's raw items, negative ones wrapped as numpy indexes)."""
    n_items = model.n_items
    lengths = np.array([len(s) for s in raw], dtype=np.int64)
    items = np.concatenate(raw) if raw else np.empty(0, np.int64)
    wrapped = np.where(items < 0, items + n_items, items)
    has_neighbours = np.bincount(nq, minlength=len(raw)) > 0
    bad = ((wrapped < 0) | (wrapped >= n_items)) & np.repeat(has_neighbours, lengths)
    if bad.any():
        raise IndexError("item index out of range")
    query_keys = np.unique(np.repeat(np.arange(len(raw), dtype=np.int64), lengths) * n_items + wrapped)
    e_keys = nq[row] * n_items + cols
    slot = np.minimum(np.searchsorted(query_keys, e_keys), max(len(query_keys) - 1, 0))
    in_query = query_keys[slot] == e_keys if len(query_keys) else np.zeros(len(e_keys), dtype=bool)
    # every neighbour shares an item, so no row is empty and reduceat sees each row once
    if not len(row):
        return np.zeros(0)
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    match = np.maximum.reduceat(np.where(in_query, pos, 0.0), starts)
    gap = pos - match[row]
    weight = np.exp(-np.abs(gap) / model.lambda_ipw) if model.lambda_ipw else np.ones_like(gap)
    weight[gap < 0] *= model.backward_weight
    return weight * nsim[row]


def transition_scores(model: Any, sequences: Sequence[np.ndarray]) -> sp.csr_matrix:
    """``model.score_sequence(sequences[i])`` for every ``i`` (a fitted
    :class:`.session.Transitions`), as rows of a queries x items float64 CSR matrix."""
    n_q, n_items, rules = len(sequences), model.n_items, model.rules
    qs, its, weights = [], [], []
    for i, seq in enumerate(sequences):
        items = np.asarray(seq, dtype=np.int64)
        items = items[(items >= 0) & (items < n_items)][::-1][: model.lookback]
        qs.append(np.full(len(items), i, dtype=np.int64))
        its.append(items)
        weights.append([model.lookback_decay**dist for dist in range(len(items))])
    q_of = np.concatenate(qs) if qs else np.empty(0, np.int64)
    items = np.concatenate(its) if its else np.empty(0, np.int64)
    weight = np.concatenate([np.asarray(w, dtype=np.float64) for w in weights]) if weights else np.empty(0)
    owner, at = _gather(rules.indptr.astype(np.int64), items)
    contrib = weight[owner] * rules.data[at]
    keys, sums = _sum_in_order(q_of[owner] * n_items + rules.indices[at].astype(np.int64), contrib)
    return _csr(keys, sums, n_q, n_items)
