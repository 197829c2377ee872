"""Session-based next-item recommenders for live (possibly anonymous) visitors.

All models are fitted on an :class:`~recommendations.engine.base.EventLog`; the order of events
inside a session is given by timestamps. A session is ``log.sessions`` where known, otherwise the
user's whole history (so per-user sequence data such as Amazon reviews works as well).

* :class:`SessionKNN` -- V-SKNN / STAN / VSTAN family (Ludewig & Jannach 2018; Garg et al. 2019;
  Ludewig et al. 2021): find the most similar recent past sessions, with recency-weighted
  positions in the current session, optional IDF, time decay of neighbour sessions and a decay
  over the distance to the matched item inside each neighbour.
* :class:`Transitions` -- last-item transition counts (``steps=1``) and sequential rules
  (``steps>1``, pairs up to ``steps`` apart weighted by ``1/gap``), with an optional time-gap
  half-life, optionally looking back over a few recent items of the current session.
* :class:`SequenceBlend` -- a weighted blend of max-normalised sequence scores.

Every ``score_sequence`` call is a handful of sparse operations on small slices, i.e. a few
milliseconds for a live visitor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp

from . import session_batch
from .base import EventLog, unique


@dataclass(frozen=True)
class Sessions:
    """Event sequences grouped by session, oldest event first inside each session."""

    indptr: np.ndarray  # int64 (n_sessions + 1,)
    items: np.ndarray  # int64 (n_events,)
    timestamps: np.ndarray  # float64 (n_events,)
    n_items: int

    @property
    def n_sessions(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def from_log(cls, log: EventLog) -> Sessions:
        """Group ``log`` into sessions; rows without session fall back to their user's history."""
        key = np.asarray(log.sessions, dtype=np.int64).copy()
        no_session = key < 0
        if no_session.any():
            offset = int(key.max()) + 1 if (~no_session).any() else 0
            key[no_session] = np.where(log.users[no_session] >= 0, log.users[no_session] + offset, -1)
        keep = key >= 0
        idx = np.flatnonzero(keep)
        order = idx[np.lexsort((idx, log.timestamps[idx], key[idx]))]
        sorted_key = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if len(order) else []
        indptr = np.r_[starts, len(order)].astype(np.int64)
        return cls(
            indptr=indptr,
            items=np.asarray(log.items, dtype=np.int64)[order],
            timestamps=np.asarray(log.timestamps, dtype=np.float64)[order],
            n_items=log.n_items,
        )

    @classmethod
    def from_lists(
        cls,
        sequences: Sequence[Sequence[int]],
        n_items: int,
        timestamps: Sequence[Sequence[float]] | None = None,
    ) -> Sessions:
        """Build from Python lists (tests, small fixtures); missing timestamps are 0, 1, 2, ..."""
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        items = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) if len(sequences) else []
        if timestamps is None:
            times = np.concatenate([np.arange(n, dtype=np.float64) for n in lengths]) if len(lengths) else []
        else:
            times = np.concatenate([np.asarray(t, dtype=np.float64) for t in timestamps])
        return cls(
            indptr=np.r_[0, np.cumsum(lengths)].astype(np.int64),
            items=np.asarray(items, dtype=np.int64),
            timestamps=np.asarray(times, dtype=np.float64),
            n_items=n_items,
        )


def _as_sessions(data: EventLog | Sessions) -> Sessions:
    return data if isinstance(data, Sessions) else Sessions.from_log(data)


def _positions(items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique items of a sequence and the 1-based position of their last occurrence."""
    rev_unique, rev_first = np.unique(items[::-1], return_index=True)
    return rev_unique, len(items) - rev_first


def _normalise_max(scores: np.ndarray) -> np.ndarray:
    top = scores.max() if scores.size else 0.0
    return scores / top if top > 0 else scores


class SessionKNN:
    """Session-based k-nearest-neighbours (V-SKNN; with ``lambda_*`` set it becomes STAN/VSTAN).

    ``k`` neighbours are chosen among the ``sample_size`` most recent past sessions that share an
    item with the current one. Current-session positions are weighted ``pos/n`` (``weighting="div"``,
    V-SKNN) or ``exp((pos-n)/lambda_spw)`` (STAN). ``idf`` weights shared items by
    ``log(n_sessions/df)``. ``lambda_time`` (seconds) decays neighbours by their age relative to the
    query; ``lambda_ipw`` decays a neighbour's items by their distance to its most recent shared
    item, and ``backward_weight`` scales items that came *before* that match (0 = VSTAN's
    sequential filter, 1 = none).
    """

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 500,
        weighting: str = "div",
        idf: bool = False,
        normalize: bool = False,
        lambda_spw: float | None = None,
        lambda_time: float | None = None,
        lambda_ipw: float | None = None,
        backward_weight: float = 1.0,
        name: str = "sknn",
    ) -> None:
        if weighting not in {"div", "linear", "same", "exp"}:
            raise ValueError(f"unknown weighting {weighting!r}")
        self.k, self.sample_size, self.weighting = k, sample_size, weighting
        self.idf, self.normalize = idf, normalize
        self.lambda_spw, self.lambda_time, self.lambda_ipw = lambda_spw, lambda_time, lambda_ipw
        self.backward_weight = backward_weight
        self.name = name

    def fit(self, data: EventLog | Sessions) -> Self:
        s = _as_sessions(data)
        self.n_items = s.n_items
        n = s.n_sessions
        lengths = np.diff(s.indptr)
        rows = np.repeat(np.arange(n), lengths)
        pos = np.arange(len(s.items)) - np.repeat(s.indptr[:-1], lengths) + 1
        # Duplicates keep their last (largest) position: the max survives sum_duplicates via sort.
        # Rows and positions ascend already, so a stable sort by (row, item) is the lexsort by
        # (row, item, position), and runs of a million mostly sorted keys in milliseconds
        order = np.argsort(rows * np.int64(max(s.n_items, 1)) + s.items, kind="stable")
        rows, cols, pos = rows[order], s.items[order], pos[order]
        last = np.r_[(rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1]), True]
        rows, cols, pos = rows[last], cols[last], pos[last]
        self._pos = sp.csr_matrix((pos.astype(np.float64), (rows, cols)), shape=(n, s.n_items))
        self._pos.sort_indices()
        self._length = lengths.astype(np.float64)
        self._n_unique = np.diff(self._pos.indptr).astype(np.float64)
        self._end = np.maximum.reduceat(s.timestamps, s.indptr[:-1]) if n else np.zeros(0)
        self._recency = self._item_sessions_flat = None  # of an earlier fit
        self._max_time = float(self._end.max()) if n else 0.0
        df = np.bincount(cols, minlength=s.n_items).astype(np.float64)
        self._idf = np.log((n + 1) / (df + 1)) + 1.0
        # item -> its sessions, most recent first (ties: the lower id), truncated to the sample
        # size: one sort of (item, recency) keys, each session once per item
        rank, by_rank = session_batch.recency(self)
        keys = np.sort(cols * max(n, 1) + rank[rows])
        item, place = np.divmod(keys, max(n, 1))
        counts = np.bincount(item, minlength=s.n_items)
        first = np.arange(len(keys)) - np.repeat(np.cumsum(counts) - counts, counts) < self.sample_size
        indptr = np.r_[0, np.cumsum(np.minimum(counts, self.sample_size))].astype(np.int64)
        flat = by_rank[place[first]].astype(np.int64)
        self._item_sessions: list[np.ndarray] = np.split(flat, indptr[1:-1]) if s.n_items else []
        self._item_sessions_flat = (indptr, flat)  # the same, laid end to end (session_batch)
        return self

    def _rows(self, sessions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stored entries of ``sessions`` (row number in ``sessions``, item, last position),
        row by row in the given order, items ascending inside a row."""
        block = self._pos[sessions]  # scipy's C row gather
        rows = np.repeat(np.arange(len(sessions)), np.diff(block.indptr))
        return rows, block.indices, block.data

    def _query_weights(self, positions: np.ndarray, n: int) -> np.ndarray:
        if self.lambda_spw is not None or self.weighting == "exp":
            lam = self.lambda_spw or 1.0
            return np.exp((positions - n) / lam)
        if self.weighting == "div":
            return positions / n
        if self.weighting == "linear":
            return np.maximum(1.0 - 0.1 * (n - positions), 0.0)
        return np.ones_like(positions, dtype=np.float64)

    def neighbours(self, items: np.ndarray, now: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The chosen neighbour sessions and their similarity to ``items``."""
        items = np.asarray(items, dtype=np.int64)
        items = items[(items >= 0) & (items < self.n_items)]
        if not len(items):
            return np.empty(0, dtype=np.int64), np.empty(0)
        uniq, positions = _positions(items)
        cands = unique(np.concatenate([self._item_sessions[i] for i in uniq]))
        if len(cands) > self.sample_size:
            recent = np.argsort(-self._end[cands], kind="stable")[: self.sample_size]
            cands = np.sort(cands[recent])
        if not len(cands):
            return cands, np.empty(0)
        w = self._query_weights(positions.astype(np.float64), len(items))
        if self.idf:
            w = w * self._idf[uniq]
        block = self._pos[cands][:, uniq]  # scipy's C gathers: the fastest path for big blocks
        block.data[:] = 1.0
        sim = np.asarray(block @ w).ravel()
        if self.normalize:
            sim = sim / np.sqrt(self._n_unique[cands] * len(uniq))
        if self.lambda_time is not None:
            ref = self._max_time if now is None else now
            sim = sim * np.exp(-np.maximum(ref - self._end[cands], 0.0) / self.lambda_time)
        keep = sim > 0
        cands, sim = cands[keep], sim[keep]
        if len(cands) > self.k:
            best = np.argpartition(-sim, self.k - 1)[: self.k]
            cands, sim = cands[best], sim[best]
        return cands, sim

    def score_sequence(self, items: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        now = float(timestamps[-1]) if timestamps is not None and len(timestamps) else None
        neigh, sim = self.neighbours(items, now)
        scores = np.zeros(self.n_items)
        if not len(neigh):
            return scores
        rows, cols, pos = self._rows(neigh)
        if self.lambda_ipw is None and self.backward_weight == 1.0:
            contrib = sim[rows]
        else:
            # position of the most recent shared item inside each neighbour
            uniq = np.asarray(items, dtype=np.int64)
            uniq = np.unique(np.where(uniq < 0, uniq + self.n_items, uniq))  # as sparse indexing does
            if uniq.size and (uniq[0] < 0 or uniq[-1] >= self.n_items):
                raise IndexError("item index out of range")
            in_query = np.zeros(self.n_items, dtype=bool)
            in_query[uniq] = True
            # every neighbour shares an item, so no row is empty and reduceat sees each row once
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            match = np.maximum.reduceat(np.where(in_query[cols], pos, 0.0), starts)
            gap = pos - match[rows]
            weight = np.exp(-np.abs(gap) / self.lambda_ipw) if self.lambda_ipw else np.ones_like(gap)
            weight[gap < 0] *= self.backward_weight
            contrib = weight * sim[rows]
        # the same additions, in the same order, as ``block.T @ sim`` (neighbour by neighbour)
        scores += np.bincount(cols, weights=contrib, minlength=self.n_items)
        return scores

    def score_sequences(
        self, sequences: Sequence[np.ndarray], timestamps: Sequence[np.ndarray] | None = None
    ) -> sp.csr_matrix:
        """:meth:`score_sequence` of many queries at once, as the rows of a sparse queries x items
        float64 matrix (the same values; the items no neighbour has are not stored)."""
        return session_batch.knn_scores(self, sequences, timestamps)


class Transitions:
    """Transition counts between items of the same session.

    ``steps=1`` counts direct successors (a first-order Markov chain). ``steps>1`` gives sequential
    rules: a pair ``gap`` steps apart adds ``1/gap``. ``half_life`` (seconds) also decays a pair by
    the time between its two events. The next-item score is the row of the last item; with
    ``lookback>1`` the rows of the previous items join in with weight ``lookback_decay**distance``.
    """

    def __init__(
        self,
        steps: int = 1,
        half_life: float | None = None,
        lookback: int = 1,
        lookback_decay: float = 0.5,
        name: str | None = None,
    ) -> None:
        self.steps, self.half_life = steps, half_life
        self.lookback, self.lookback_decay = lookback, lookback_decay
        self.name = name or ("transitions" if steps == 1 else "sequential_rules")

    def fit(self, data: EventLog | Sessions) -> Self:
        s = _as_sessions(data)
        self.n_items = s.n_items
        n = len(s.items)
        session_of = np.repeat(np.arange(s.n_sessions), np.diff(s.indptr))
        rows, cols, vals = [], [], []
        for gap in range(1, self.steps + 1):
            a = np.arange(n - gap)
            same = session_of[a] == session_of[a + gap]
            a = a[same]
            b = a + gap
            w = np.full(len(a), 1.0 / gap)
            if self.half_life:
                dt = np.maximum(s.timestamps[b] - s.timestamps[a], 0.0)
                w *= np.exp2(-dt / self.half_life)
            rows.append(s.items[a])
            cols.append(s.items[b])
            vals.append(w)
        r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
        c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
        v = np.concatenate(vals) if vals else np.empty(0)
        self.rules = sp.csr_matrix((v, (r, c)), shape=(s.n_items, s.n_items))
        self.rules.sum_duplicates()
        return self

    def score_sequence(self, items: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        items = items[(items >= 0) & (items < self.n_items)]
        scores = np.zeros(self.n_items)
        for dist, item in enumerate(items[::-1][: self.lookback]):
            row = self.rules.indptr[item], self.rules.indptr[item + 1]
            weight = self.lookback_decay**dist
            scores[self.rules.indices[row[0] : row[1]]] += weight * self.rules.data[row[0] : row[1]]
        return scores

    def score_sequences(
        self, sequences: Sequence[np.ndarray], timestamps: Sequence[np.ndarray] | None = None
    ) -> sp.csr_matrix:
        """:meth:`score_sequence` of many queries at once, as the rows of a sparse queries x items
        float64 matrix (the same values; the items no rule reaches are not stored)."""
        return session_batch.transition_scores(self, sequences)


class SequenceBlend:
    """Weighted sum of max-normalised scores from several sequence models.

    Max-normalisation per query keeps each model's ranking intact and makes weights comparable;
    ``fit`` fits every component on the same data.
    """

    def __init__(self, components: Sequence[tuple[object, float]], name: str = "session_hybrid") -> None:
        self.components = list(components)
        self.name = name

    def fit(self, data: EventLog | Sessions) -> Self:
        sessions = _as_sessions(data)
        for model, _ in self.components:
            model.fit(sessions)  # type: ignore[attr-defined]
        self.n_items = sessions.n_items
        return self

    def score_sequence(self, items: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        total = np.zeros(self.n_items)
        for model, weight in self.components:
            if weight:
                total += weight * _normalise_max(model.score_sequence(items, timestamps))  # type: ignore[attr-defined]
        return total


# STAN's hyper-parameters, written once: serving's session model and the offline registry both
# build it here (tuned on yoochoose train_tr -> train_valid only, never on test data).
STAN_PARAMS: dict[str, object] = {
    "k": 200, "sample_size": 1000, "weighting": "exp", "lambda_spw": 0.75, "lambda_ipw": 3.0, "idf": True,
}  # fmt: skip


#: the most recent events a sequence model is ever queried with (serving, validation, offline)
MAX_QUERY = 50
#: a known user's query is cut to this percentile of the training sessions' lengths
QUERY_PERCENTILE = 95.0


def query_window(sessions: Sessions, percentile: float = QUERY_PERCENTILE, cap: int = MAX_QUERY) -> int:
    """How many of a known user's most recent events a sequence model should be queried with.

    The models learn from sessions; a known user's whole history, many sessions long, matches
    old and unrelated clicks and drowns the current intent. The query is cut to the length the
    models were trained on: the ``percentile`` of the training sessions' lengths (at least 2, at
    most ``cap``). Data without session ids (each user one long "session") keeps long queries.
    """
    lengths = np.diff(np.asarray(sessions.indptr, dtype=np.int64))
    lengths = lengths[lengths > 0]
    if not lengths.size:
        return cap
    return int(np.clip(np.ceil(np.percentile(lengths, percentile)), 2, cap))


def stan(**overrides: object) -> SessionKNN:
    """STAN-style session kNN with :data:`STAN_PARAMS` (``overrides`` replace single values)."""
    return SessionKNN(**{**STAN_PARAMS, "name": "stan", **overrides})  # type: ignore[arg-type]
