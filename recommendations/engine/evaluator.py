"""The self-evaluation's scorer (:mod:`.selection`): every candidate fitted once per grid point on
the validation training log, each split's queries scored, their normalised top lists and per-query
NDCG@k kept for the blend search."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from . import validation as v
from .base import EventLog
from .candidates import Candidate, Params
from .scoring import blend_ndcg, param_key
from .scoring import dense_top_lists as _dense_top_lists
from .scoring import objective as _objective
from .scoring import shared_top_lists as _shared_top_lists
from .scoring import sparse_top_lists as _sparse_top_lists
from .scoring import top_lists as _top_lists
from .session import MAX_QUERY, Sessions

if TYPE_CHECKING:
    from .selection import Settings

#: the validation splits whose queries stand for each context's future
CONTEXT_SPLITS = {
    "user": ("recent", "random"),
    "session": ("next_click",),
    "similar": ("coview",),
    "cart": ("basket",),
}


#: queries scored at once, and at most this many query x item cells in one batch: a dense model's
#: scores (and a tie's dense rows) are a queries x items block, 2 GiB of float64 for 256 queries of
#: a 1M-item catalogue (16 queries a batch there: 128 MiB); the cap changes nothing up to 65,536
#: items (256 queries a batch), and each query's list is its own row's whatever the batch
BATCH_QUERIES = 256
DENSE_CELLS = 2**24


def batch_size(n_items: int) -> int:
    """Queries per scoring batch for a catalogue of ``n_items``."""
    return max(1, min(BATCH_QUERIES, DENSE_CELLS // max(n_items, 1)))


@dataclass
class _Scored:
    lists: dict[str, sp.csr_matrix]  # split -> queries x items, normalised top-n scores
    ndcg: dict[str, float]
    per_query: dict[str, np.ndarray] = field(default_factory=dict)  # split -> NDCG@k of each query


class _Evaluator:
    def __init__(self, train: EventLog, splits: dict[str, v.Split], build: v.MatrixBuilder, s: Settings):
        self.settings, self.splits = s, {k: sp_ for k, sp_ in splits.items() if len(sp_.queries)}
        self.train, self.matrix = train, build(train)
        self.sessions = Sessions.from_log(train)
        # a known user's sequence-model query: their newest ``window`` events (see _choose_window)
        self.window = MAX_QUERY
        self.history = {name: v.history_rows(split, self.matrix) for name, split in self.splits.items()}
        self.seen = {name: v.seen_matrix(split) for name, split in self.splits.items()}
        self.cache: dict[tuple[str, str], _Scored] = {}
        self.kept: dict[tuple[str, str], Any] = {}  # fits that may be chosen (keep_fitted)
        self.baselines: dict[str, str] = {}  # candidate -> params key of its first point
        self.fitted: dict[tuple[str, str], Any] = {}  # fits kept between a partial and a full score
        # (model, params key, split, query window) -> the lists and per-query NDCG a partial score
        # found (the window choice's, the re-show choice's), for the full score to take as they are
        self.partial: dict[tuple[str, str, str, int], tuple[sp.csr_matrix, np.ndarray]] = {}
        self.cost: dict[str, float] = {}
        # the training log's rows by user (validation.by_user_order), as the splits derived it
        self.train_order = next(
            (
                sp_.train_order
                for sp_ in splits.values()
                if sp_.train is train and sp_.train_order is not None
            ),
            None,
        )
        # the splits that count in an objective: enough queries for a mean to mean something
        self.used = {n for n, sp_ in self.splits.items() if len(sp_.queries) >= s.min_split_queries}

    def by_user_order(self) -> np.ndarray:
        """:func:`.validation.by_user_order` of the training log (sorted once, then kept)."""
        if self.train_order is None:
            self.train_order = v.by_user_order(self.train)
        return self.train_order

    def names(self, context: str) -> tuple[str, ...]:
        return tuple(n for n in CONTEXT_SPLITS[context] if n in self.used)

    def score(self, cand: Candidate, params: Params, only: tuple[str, ...] | None = None) -> _Scored:
        """``cand`` fitted with ``params``, scored on every split (``only``: on those, uncached as
        a whole; each split's part is kept, so a full score later does not score it again)."""
        key = (cand.name, param_key(params))
        if key not in self.cache or only is not None:
            started = time.perf_counter()
            # a candidate of some contexts only (Candidate.contexts) is scored on their splits only
            names = [
                n
                for n, split in self.splits.items()
                if (only is None or n in only) and cand.serves(split.context)
            ]
            todo = [n for n in names if self._part_key(cand, key, n) not in self.partial]
            model = None
            if todo or (only is None and self.settings.keep_fitted):
                # a partial score of a fit already kept (a chosen model, for the re-show choice's
                # extra split) serves that fit: fitting is deterministic, so a refit is the same
                model = self.fitted.pop(key, None) if key not in self.kept else self.kept[key]
                if model is None:
                    model = cand.fit(params, self.matrix, self.sessions)
                if only is not None and key not in self.kept:
                    self.fitted[key] = model
            lists, ndcg, per_query = {}, {}, {}
            for name in names:
                part = self._part_key(cand, key, name)
                if part in self.partial:
                    lists[name], per_query[name] = self.partial[part]
                else:
                    lists[name], per_query[name] = self._split_lists(cand, model, name)
                    if only is not None:
                        self.partial[part] = (lists[name], per_query[name])
                ndcg[name] = float(per_query[name].mean())
            if only is not None:
                return _Scored(lists, ndcg, per_query)
            self.fitted.pop(key, None)
            self.cache[key] = _Scored(lists, ndcg, per_query)
            spent = time.perf_counter() - started
            self.cost[cand.name] = round(self.cost.get(cand.name, 0.0) + spent, 3)
            if self.settings.keep_fitted:
                self._retain(cand, key, params, model)
        return self.cache[key]

    def _part_key(self, cand: Candidate, key: tuple[str, str], split: str) -> tuple[str, str, str, int]:
        """What a split's lists depend on: the fit, the split and a sequence model's query window."""
        user = cand.kind == "sequence" and self.splits[split].context == "user"
        return (*key, split, self.window if user else MAX_QUERY)

    def _split_lists(self, cand: Candidate, model: Any, name: str) -> tuple[sp.csr_matrix, np.ndarray]:
        """Each query's normalised top list on split ``name``, and its NDCG@k."""
        blocks = []
        q, seen = self.splits[name].queries, self.seen[name]
        step = batch_size(self.matrix.shape[1])
        for start in range(0, len(q), step):
            idx = np.arange(start, min(start + step, len(q)))
            exclude = None if seen is None else seen[idx]
            if cand.kind == "matrix" and hasattr(model, "score_sparse"):
                # a neighbourhood model's row scores a few thousand items: rank those only
                scores = model.score_sparse(self.history[name][idx])
                blocks.append(_sparse_top_lists(scores, exclude, self.settings.top_n))
                continue
            if cand.kind == "matrix" and hasattr(model, "shared_scores"):
                # every query gets the same row (popularity): its best items only, ranked sparsely
                row = np.asarray(model.shared_scores(), dtype=np.float64)
                blocks.append(_shared_top_lists(row, len(idx), exclude, self.settings.top_n))
                continue
            if cand.kind == "sequence" and hasattr(model, "score_sequences"):
                # the batch's queries scored at once, only the items some neighbour or rule reaches
                n = self.window if self.splits[name].context == "user" else MAX_QUERY
                picked = idx.tolist()
                scores = model.score_sequences(
                    [q.sequences[i][-n:] for i in picked], [q.times[i][-n:] for i in picked]
                )
                blocks.append(_sparse_top_lists(scores, exclude, self.settings.top_n))
                continue
            if cand.kind == "matrix":
                # a dense model (iALS): each row's best found by a value-only partition of its scores
                block = np.asarray(model.score(self.history[name][idx]))
                blocks.append(_dense_top_lists(block, exclude, self.settings.top_n))
                continue
            block = self._block(cand, model, name, idx)
            blocks.append(_top_lists(block, exclude, self.settings.top_n))
        lists = sp.vstack(blocks, format="csr")
        return lists, blend_ndcg([(lists, 1.0)], q.targets, self.settings.k)

    def _retain(self, cand: Candidate, key: tuple[str, str], params: Params, model: Any) -> None:
        """Keep a fit only while it may be chosen: its candidate's baseline, or the best point of
        its candidate for some context so far (so at most a few fits per candidate are held)."""
        self.kept[key] = model
        keep = {(cand.name, self.baselines.get(cand.name, param_key(cand.grid[0])))}
        for context in self.settings.contexts:
            names = self.names(context)
            tried = [(k, r) for k, r in self.cache.items() if k[0] == cand.name]
            if names and tried:
                keep.add(max(tried, key=lambda kr: _objective(kr[1].ndcg, names))[0])
        for old in [k for k in self.kept if k[0] == cand.name and k not in keep]:
            del self.kept[old]

    def _block(self, cand: Candidate, model: Any, split: str, idx: np.ndarray) -> np.ndarray:
        if cand.kind == "matrix":
            return np.asarray(model.score(self.history[split][idx]), dtype=np.float64)
        q = self.splits[split].queries
        n = self.window if self.splits[split].context == "user" else MAX_QUERY
        return np.vstack([model.score_sequence(q.sequences[i][-n:], q.times[i][-n:]) for i in idx.tolist()])
