"""Per-request score vectors of each source, as the engine's :class:`SourceScores`.

Item-item sources read precomputed K-neighbour rows of the anchor items only: O(anchors x K).
Evidence (which anchor produced a candidate) is computed lazily, for shown items only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommendations.engine.content import tokenize
from recommendations.engine.hybrid import SourceScores
from recommendations.serving.bundle import Bundle
from recommendations.serving.chosen import ials_scores, userknn_scores
from recommendations.serving.visitor import Facts


@dataclass
class Anchors:
    """The items a slot is about (history, the product on the page, the cart) and their weights."""

    items: np.ndarray
    weights: np.ndarray
    kind: str  # reason code for item-item sources: "viewed", "similar" or "bought_with"


class _LazyEvidence(Mapping[int, tuple[int, ...]]):
    """item -> the anchor contributing most to it, found on demand (the entries are grouped by
    item once, on the first lookup; ties go to the first entry, as ``argmax`` does)."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, contrib: np.ndarray) -> None:
        self.rows, self.cols, self.contrib = rows, cols, contrib
        self._order: np.ndarray | None = None
        self._sorted: np.ndarray | None = None

    def _grouped(self) -> tuple[np.ndarray, np.ndarray]:
        if self._order is None or self._sorted is None:
            self._order = np.argsort(self.cols, kind="stable")
            self._sorted = self.cols[self._order]
        return self._order, self._sorted

    def __getitem__(self, item: int) -> tuple[int, ...]:
        order, ordered = self._grouped()
        lo, hi = ordered.searchsorted(item, "left"), ordered.searchsorted(item, "right")
        if lo == hi:
            raise KeyError(item)
        hit = order[lo:hi]  # ascending entry positions, as flatnonzero(cols == item) gives
        return (int(self.rows[hit[np.argmax(self.contrib[hit])]]),)

    def __iter__(self) -> Iterator[int]:
        return iter(np.unique(self.cols).tolist())

    def __len__(self) -> int:
        return len(np.unique(self.cols))


def neighbour_scores(matrix: sp.csr_matrix, anchors: Anchors, kind: str) -> SourceScores | None:
    if not anchors.items.size:
        return None
    starts, stops = matrix.indptr[anchors.items], matrix.indptr[anchors.items + 1]
    lengths = stops - starts
    total = int(lengths.sum())
    if not total:
        return None
    offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths) + np.arange(total)
    cols = matrix.indices[offsets]
    contrib = matrix.data[offsets] * np.repeat(anchors.weights, lengths)
    scores = np.bincount(cols, weights=contrib, minlength=matrix.shape[1])
    rows = np.repeat(anchors.items, lengths)
    return SourceScores(scores, kind=kind, evidence=_LazyEvidence(rows, cols, contrib))


def als_scores(bundle: Bundle, anchors: Anchors) -> SourceScores | None:
    """Exact fold-in of the anchors as a user row (Hu et al.), then ``Y x``."""
    if bundle.als is None or not anchors.items.size:
        return None
    y, gram, alpha = bundle.als
    factors = y[anchors.items].astype(np.float64)
    conf = anchors.weights * alpha
    x = np.linalg.solve(gram + factors.T @ (conf[:, None] * factors), factors.T @ (1.0 + conf))
    scores = y @ x.astype(np.float32)
    scores[anchors.items] = 0.0
    last = (int(anchors.items[np.argmax(anchors.weights)]),)
    return SourceScores(scores, kind=anchors.kind, default_evidence=last)


def session_scores(
    bundle: Bundle, facts: Facts, extra: np.ndarray, model: object | None = None, window: int = 50
) -> SourceScores | None:
    """The session model (or ``model``, a fitted sequence model) on the visitor's ``window``
    most recent clicks followed by ``extra`` (the page's product, the cart)."""
    model = bundle.session if model is None else model
    sequence = np.r_[facts.sequence, extra].astype(np.int64) if extra.size else facts.sequence
    if model is None or not sequence.size:
        return None
    times = facts.times
    if extra.size:
        times = np.r_[times, np.full(extra.size, times[-1] if times.size else 0.0)]
    n = max(int(window), 1)
    scores = model.score_sequence(sequence[-n:], times[-n:] if times.size else None)  # type: ignore[attr-defined]
    # the engine scores the query items too; the evidence item must not be recommended "because
    # you just viewed" itself (als_scores zeroes its anchors likewise)
    scores[int(sequence[-1])] = 0.0
    return SourceScores(scores, kind="session", default_evidence=(int(sequence[-1]),))


def recently_viewed_scores(bundle: Bundle, facts: Facts) -> SourceScores | None:
    scores = np.zeros(bundle.n_items)
    for rank, pid in enumerate(facts.recent_ids):
        idx = bundle.index.get(pid)
        if idx is not None:
            scores[idx] = 1.0 / (rank + 1)
    return SourceScores(scores, kind="recently_viewed") if scores.any() else None


def search_scores(bundle: Bundle, query: str) -> SourceScores | None:
    """Title token matches (idf-weighted), nudged by trending so popular matches come first."""
    scores = np.zeros(bundle.n_items)
    for token in set(tokenize(query or "")):
        hits = bundle.tokens.get(token)
        if hits is not None:
            scores[hits] += np.log1p(bundle.n_items / len(hits))
    if not scores.any():
        return None
    top = bundle.trending.max() or 1.0
    scores[scores > 0] += 0.1 * bundle.trending[scores > 0] / top
    return SourceScores(scores, kind="search")


def chosen_scores(bundle: Bundle, name: str, facts: Facts, anchors: Anchors) -> SourceScores | None:
    """A source of the self-evaluation's choice (``auto.<context>.<model>``)."""
    if bundle.chosen is None or name not in bundle.chosen.models:
        return None
    kind, model = bundle.chosen.models[name]
    if kind == "neighbours":
        return neighbour_scores(model, anchors, anchors.kind)
    if kind == "ials":
        return ials_scores(model, anchors.items, anchors.weights, anchors.kind)
    if kind == "popularity":
        return SourceScores(model, kind="trending") if model.any() else None
    if kind == "userknn":
        return userknn_scores(model, anchors.items, anchors.weights, anchors.kind, facts.row)
    extra = anchors.items if anchors.kind != "viewed" else np.empty(0, np.int64)
    # a known user's chosen sequence models see the part of the history the holdout chose
    window = bundle.chosen.window if name.startswith("auto.user.") else 50
    return session_scores(bundle, facts, extra, model, window)


def trending_scores(bundle: Bundle) -> SourceScores | None:
    return SourceScores(bundle.trending, kind="trending") if bundle.trending.any() else None
