"""Validation splits of a shop's own event log, and fast batch ranking metrics on them.

The splits mirror how the shop's future looks, plus a random one:

* :func:`recent_split` (context ``"user"``): for a sample of known users, everything from their
  most recent event on is held out; the targets are the items of those events they had not
  touched before (what a "for you" list can still show). The rest trains. The held-out items
  they had touched before are noted too (``Queries.again``); :func:`.returning.returning_split` adds the
  users whose newest events only come back to old items: what decides whether a list may
  re-show items (:mod:`.reshow`).
* :func:`random_split` (context ``"user"``): for a sample of users, a random ``fraction`` of their
  distinct items is held out with all their events (the classic per-user 80/20 holdout).
* :func:`session_split` (context ``"session"``): sessions sampled among those that start in the
  newest part of the log are held out whole; each one yields one query, the clicks before a random
  position predicting the click at it (an anonymous visitor's next click). Nothing is excluded.
  Only the sampled sessions leave the training log, so the models validated are fitted on nearly
  every event (and a rebuild can serve them as they are).

Every split is seeded and capped (``max_queries``) so a validation costs a bounded time on any
shop. :func:`ndcg` scores a dense block of query scores exactly as the offline evaluation does
(non-positive scores are never recommended, excluded items never ranked, ties go to the lower
index).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from .base import EventLog, unique

MatrixBuilder = Callable[[EventLog], sp.csr_matrix]


@dataclass(frozen=True)
class Queries:
    """What each validation query knows, and what it should find."""

    users: np.ndarray  # int64: the query's row in the training matrix, -1 for a new visitor
    sequences: list[np.ndarray]  # known items, oldest first
    times: list[np.ndarray]  # their timestamps
    targets: list[np.ndarray]  # held-out items
    exclude_seen: bool  # known users: items of their training history are never ranked
    again: list[np.ndarray] | None = None  # held-out items the history already has (``repeats``)
    at: np.ndarray | None = None  # float64: when the query is asked (the held-out events' time)

    def __len__(self) -> int:
        return len(self.targets)


@dataclass(frozen=True)
class Split:
    name: str
    context: str  # "user" or "session"
    train: EventLog
    queries: Queries
    held_sessions: np.ndarray | None = None  # the sessions held out whole (session splits)
    #: ``train``'s rows grouped by user, oldest first (:func:`by_user_order`), where the split
    #: derived it without a sort: the next split cut from ``train`` need not sort it again
    train_order: np.ndarray | None = None


def _take(log: EventLog, keep: np.ndarray) -> EventLog:
    return replace(
        log,
        users=log.users[keep],
        items=log.items[keep],
        kinds=log.kinds[keep],
        timestamps=log.timestamps[keep],
        sessions=log.sessions[keep],
    )


def without_sessions(log: EventLog, sessions: np.ndarray, keep: np.ndarray | None = None) -> EventLog:
    """``log`` without the events of ``sessions`` (``keep``: the rows not in them, when the
    caller has them)."""
    return _take(log, ~np.isin(log.sessions, sessions) if keep is None else keep)


def by_user_order(log: EventLog, keys: np.ndarray | None = None) -> np.ndarray:
    """The rows of ``log`` with a user (or ``keys`` >= 0), grouped by user then time then row."""
    keys = log.users if keys is None else keys
    known = np.flatnonzero(keys >= 0)
    return known[np.lexsort((known, log.timestamps[known], keys[known]))]


def kept_order(order: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """:func:`by_user_order` of ``_take(log, keep)`` from ``order``, that of ``log``, without a sort
    (the kept rows keep their order, and their new row numbers keep the old ones' order)."""
    renumbered = np.cumsum(keep) - 1
    return renumbered[order[keep[order]]]


def _by_user(
    log: EventLog, keys: np.ndarray | None = None, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event order grouped by user (or ``keys``) then time, and each group's (starts, stops).
    ``order``: :func:`by_user_order` of ``log`` (and ``keys``), when the caller has it."""
    keys = log.users if keys is None else keys
    order = by_user_order(log, keys) if order is None else order
    users = keys[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(order) else np.empty(0, np.int64)
    stops = np.r_[starts[1:], len(order)].astype(np.int64)
    return order, starts, stops


def _sequence(log: EventLog, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return log.items[rows].astype(np.int64), log.timestamps[rows].astype(np.float64)


def recent_split(
    log: EventLog,
    max_queries: int = 2000,
    seed: int = 0,
    min_history: int = 2,
    order: np.ndarray | None = None,
) -> Split:
    """Each sampled user's newest events held out (see the module docstring); each query also
    knows the held-out items the user had touched before (``again``) and when (``at``).
    ``order``: :func:`by_user_order` of ``log``, when the caller has it."""
    rng = np.random.default_rng(seed)
    order, starts, stops = _by_user(log, order=order)
    keep = np.ones(len(log.items), dtype=bool)
    users, sequences, times, targets, again, at = [], [], [], [], [], []
    for slot in rng.permutation(len(starts)).tolist():
        if len(targets) >= max_queries:
            break
        rows = order[starts[slot] : stops[slot]]
        last_time = log.timestamps[rows[-1]]
        held = log.timestamps[rows] >= last_time
        before = rows[~held]
        history = np.unique(log.items[before])
        if len(history) < min_history:
            continue
        held_items = np.unique(log.items[rows[held]])
        new = np.setdiff1d(held_items, history)
        if not new.size:
            continue
        keep[rows[held]] = False
        users.append(int(log.users[rows[0]]))
        items, stamps = _sequence(log, before)
        sequences.append(items)
        times.append(stamps)
        targets.append(new.astype(np.int64))
        again.append(np.intersect1d(held_items, history).astype(np.int64))
        at.append(float(last_time))
    queries = Queries(
        np.asarray(users, np.int64), sequences, times, targets, True, again, np.asarray(at, np.float64)
    )
    return Split("recent", "user", _take(log, keep), queries, train_order=kept_order(order, keep))


def random_split(
    log: EventLog,
    fraction: float = 0.2,
    max_queries: int = 2000,
    seed: int = 0,
    min_items: int = 3,
    skip: set[int] | frozenset[int] = frozenset(),
    by_session: bool = False,
    order: np.ndarray | None = None,
) -> Split:
    """A random ``fraction`` of each sampled user's distinct items held out (seeded); users in
    ``skip`` are left alone. ``by_session``: sessions instead of users, each queried as a new
    visitor (its remaining clicks are the context, nothing is excluded), sessions with an event of
    a ``skip`` user left alone. ``order``: :func:`by_user_order` of ``log`` (by session with
    ``by_session``), when the caller has it."""
    rng = np.random.default_rng(seed)
    order, starts, stops = _by_user(log, log.sessions if by_session else None, order)
    keep = np.ones(len(log.items), dtype=bool)
    users, sequences, times, targets = [], [], [], []
    for slot in rng.permutation(len(starts)).tolist():
        if len(targets) >= max_queries:
            break
        rows = order[starts[slot] : stops[slot]]
        if skip and (
            np.isin(log.users[rows], list(skip)).any() if by_session else int(log.users[rows[0]]) in skip
        ):
            continue
        distinct = np.unique(log.items[rows])
        n_test = round(len(distinct) * fraction)
        if len(distinct) < min_items or n_test < 1:
            continue
        chosen = rng.choice(distinct, size=n_test, replace=False)
        held = np.isin(log.items[rows], chosen)
        keep[rows[held]] = False
        users.append(int(log.users[rows[0]]))
        items, stamps = _sequence(log, rows[~held])
        sequences.append(items)
        times.append(stamps)
        targets.append(np.sort(chosen).astype(np.int64))
    return Split(
        "random",
        "user",
        _take(log, keep),
        Queries(np.asarray(users, np.int64), sequences, times, targets, True),
        train_order=None if by_session else kept_order(order, keep),
    )


def session_split(
    log: EventLog,
    newest_share: float = 0.2,
    max_queries: int = 2000,
    seed: int = 0,
    skip_users: set[int] | frozenset[int] = frozenset(),
    order: np.ndarray | None = None,
) -> Split:
    """Up to ``max_queries`` sessions starting in the newest ``newest_share`` of the time range are
    held out (only those); one next-click query each (the position drawn at random, seeded). Sessions with an event of a
    ``skip_users`` user stay in training. ``order``: ``by_user_order(log, log.sessions)``, when
    the caller has it."""
    rng = np.random.default_rng(seed)
    order, starts, stops = _by_user(log, log.sessions, order)
    keep = np.ones(len(log.items), dtype=bool)
    sequences, times, targets = [], [], []
    if len(order):
        lo, hi = float(log.timestamps.min()), float(log.timestamps.max())
        cut = hi - newest_share * (hi - lo)
        first = log.timestamps[order[starts]]
        candidates = np.flatnonzero((first >= cut) & (stops - starts >= 2))
        skip = np.isin(log.users, list(skip_users)) if skip_users else None
        for slot in rng.permutation(candidates).tolist():
            if len(targets) >= max_queries:
                break
            rows = order[starts[slot] : stops[slot]]
            if skip is not None and skip[rows].any():
                continue
            keep[rows] = False  # only the sessions queried: the rest of the log trains
            position = int(rng.integers(1, len(rows)))
            items, stamps = _sequence(log, rows[:position])
            sequences.append(items)
            times.append(stamps)
            targets.append(np.asarray([log.items[rows[position]]], dtype=np.int64))
    queries = Queries(np.full(len(targets), -1, np.int64), sequences, times, targets, False)
    held = unique(log.sessions[~keep])
    return Split("next_click", "session", _take(log, keep), queries, held)


def ranked(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """Top ``k`` items of every row (queries x items), best first, ties to the lower index;
    ``-1`` pads rows with fewer than ``k`` positive, non-excluded scores."""
    # one negated float64 copy, the unrankable (non-positive, non-finite, excluded) set to +inf:
    # the same array argpartition saw as ``-s`` with those at -inf, so the same ties and order
    neg = np.negative(np.asarray(scores), dtype=np.float64)
    rankable = neg < 0  # NaN compares false: unrankable
    rankable &= neg > -np.inf
    np.copyto(neg, np.inf, where=~rankable)  # in place, without a boolean gather (a third faster)
    if exclude is not None and exclude.nnz:
        coo = exclude.tocoo()
        neg[coo.row, coo.col] = np.inf
    k = min(k, neg.shape[1])
    part = (
        np.argpartition(neg, k - 1, axis=1)[:, :k]
        if k < neg.shape[1]
        else np.tile(np.arange(k), (len(neg), 1))
    )
    vals = np.take_along_axis(neg, part, axis=1)
    order = np.lexsort((part, vals), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    top[np.take_along_axis(vals, order, axis=1) == np.inf] = -1
    return top


def ndcg(top: np.ndarray, targets: list[np.ndarray], k: int) -> np.ndarray:
    """NDCG@k per row of ``top`` (from :func:`ranked`), binary gains, as engine.metrics.ndcg."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    out = np.zeros(len(targets))
    for i, relevant in enumerate(targets):
        hits = np.isin(top[i, :k], relevant) & (top[i, :k] >= 0)
        ideal = discounts[: min(k, len(relevant))].sum()
        out[i] = discounts[: hits.size][hits].sum() / ideal if ideal else 0.0
    return out


def seen_matrix(split: Split) -> sp.csr_matrix | None:
    """queries x items, 1 where a known user's training history has the item (else None)."""
    q = split.queries
    if not q.exclude_seen or not len(q):
        return None
    rows = np.repeat(np.arange(len(q)), [len(s) for s in q.sequences])
    cols = np.concatenate(q.sequences) if len(q) else np.empty(0, np.int64)
    out = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(q), split.train.n_items))
    out.sum_duplicates()
    return out


def history_rows(split: Split, matrix: sp.csr_matrix, weights: np.ndarray | None = None) -> sp.csr_matrix:
    """The confidence row of every query: the user's training row, or for a new visitor the
    bincount of its items (``weights`` per position, 1 by default)."""
    q = split.queries
    if len(q) and (q.users >= 0).all():
        return sp.csr_matrix(matrix[q.users])  # the users' rows, one gather (vstack gave the same)
    if len(q) and weights is None and (q.users < 0).all():
        # each visitor's item counts (whole numbers: the same sums in any order), sorted by item
        counts = sp.csr_matrix(
            (
                np.ones(sum(len(seq) for seq in q.sequences)),
                (
                    np.repeat(np.arange(len(q)), [len(seq) for seq in q.sequences]),
                    np.concatenate(q.sequences),
                ),
            ),
            shape=(len(q), matrix.shape[1]),
        )
        counts.sum_duplicates()
        return counts
    rows = []
    for user, seq in zip(q.users.tolist(), q.sequences, strict=True):
        if user >= 0:
            rows.append(matrix[user])
        else:
            w = np.ones(len(seq)) if weights is None else weights
            values = np.bincount(seq, weights=w, minlength=matrix.shape[1])
            rows.append(sp.csr_matrix(values.reshape(1, -1)))
    return sp.vstack(rows, format="csr") if rows else sp.csr_matrix((0, matrix.shape[1]))


def evaluate_scores(
    score_block: Callable[[np.ndarray], np.ndarray], split: Split, k: int = 10, batch: int = 256
) -> float:
    """Mean NDCG@k of a scorer over a split: ``score_block(query_indices)`` returns a dense
    block (len(indices) x items)."""
    n = len(split.queries)
    if not n:
        return 0.0
    seen = seen_matrix(split)
    total = 0.0
    for start in range(0, n, batch):
        idx = np.arange(start, min(start + batch, n))
        block = score_block(idx)
        top = ranked(block, k, None if seen is None else seen[idx])
        total += float(ndcg(top, [split.queries.targets[i] for i in idx], k).sum())
    return total / n


def evaluate_recommender(
    model: object, split: Split, matrix: sp.csr_matrix, k: int = 10, batch: int = 256
) -> float:
    """Mean NDCG@k of a fitted ``Recommender`` (``score(history)``) on ``split``."""
    history = history_rows(split, matrix)

    def block(idx: np.ndarray) -> np.ndarray:
        return np.asarray(model.score(history[idx]))  # type: ignore[attr-defined]

    return evaluate_scores(block, split, k, batch)


def choose(
    factory: Callable[..., object],
    grid: list[dict],
    split: Split,
    build: MatrixBuilder,
    k: int = 10,
) -> tuple[dict, list[tuple[dict, float]]]:
    """Fit ``factory(**params)`` for every ``params`` of ``grid`` on the split's training part and
    keep the best by validation NDCG@k (the first on ties). Returns ``(best, [(params, ndcg)])``."""
    matrix = build(split.train)
    table = []
    for params in grid:
        model = factory(**params).fit(matrix)  # type: ignore[attr-defined]
        table.append((params, evaluate_recommender(model, split, matrix, k)))
    best = max(table, key=lambda row: row[1])[0] if table else {}
    return best, table
