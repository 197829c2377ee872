"""``auto``: the default algorithm. It fits on the given events, validates on their own holdout
(:func:`recommendations.engine.selection.select`), keeps the chosen blend per context (known
user / new visitor), then recommends with it through the production blend.

As at a rebuild, the holdout also decides two things for known users: whether their list
re-shows items they touched (consumables due again, items browsed and not bought, with the chosen
weights scaled by how much each user comes back to items, :mod:`recommendations.engine.comebacks`;
:func:`recommendations.engine.reshow.merge`), in which case the offline runner leaves
their training items in the ranking; and how many of their newest events the sequence models
are queried with (``Selection.query_window``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recommendations.engine import reshow
from recommendations.engine.base import top_k
from recommendations.engine.candidates import Candidate, candidates
from recommendations.engine.comebacks import Comebacks, comeback_factor
from recommendations.engine.hybrid import normalise
from recommendations.engine.interactions import build_matrix
from recommendations.engine.selection import Selection, Settings, select

from .algorithms import HybridScorer, MatrixScorer, PopularityScorer, Query, Scorer, SequenceScorer, TrainData

#: the most recent clicks a sequence model sees, as in serving and in the validation
SEQUENCE_WINDOW = 50
#: the self-evaluation's settings when none are given (more queries and evaluations than a
#: rebuild's: an offline run has the time, and a bigger sample resolves smaller gains). 80 points
#: for the item models, iALS and the sequence models, plus user-kNN's 24 (its grid): the search
#: walks the candidates round-robin, so without them user-kNN would take points from the others
SETTINGS = Settings(max_queries=1000, max_evaluations=104, contexts=("user", "session"))


class _Window(SequenceScorer):
    known_window = SEQUENCE_WINDOW  # a known user's query: their newest events (the holdout's choice)

    def scores(self, query: Query) -> np.ndarray:
        n = self.known_window if query.row >= 0 else SEQUENCE_WINDOW
        return self.model.score_sequence(query.items[-n:], query.timestamps[-n:])


def _scorer(cand: Candidate, params: Mapping) -> Scorer:
    def make() -> object:
        return cand.make(**params)

    if cand.kind == "sequence":
        return _Window(cand.name, make)
    if cand.name == "popularity":
        return PopularityScorer(cand.name, make)
    return MatrixScorer(cand.name, make)


class AutoScorer(HybridScorer):
    """The blend the training data chooses for itself (see the module docstring)."""

    name = "auto"

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or SETTINGS
        self.selection: Selection | None = None

    def fit(self, train: TrainData) -> AutoScorer:
        weights = dict(train.weights)
        self.selection = select(train.log, lambda log: build_matrix(log, weights), self.settings)
        pool = candidates(train.matrix, self.settings.max_ease_items)
        fitted: dict[tuple[str, str], Scorer] = {}
        self.by_context: dict[str, dict[str, Scorer]] = {}
        for context, choice in self.selection.contexts.items():
            parts = {}
            for name, weight in choice.weights.items():
                if not weight or name not in pool:
                    continue
                params = choice.params.get(name, pool[name].grid[0])
                key = (name, repr(sorted(params.items())))
                if key not in fitted:
                    fitted[key] = _scorer(pool[name], params).fit(train)
                parts[name] = fitted[key]
            self.by_context[context] = parts
        self.user_weights = {n: w for n, w in self.selection.contexts["user"].weights.items() if n in pool}
        self.session_weights = {
            n: w for n, w in self.selection.contexts["session"].weights.items() if n in pool
        }
        self.n_items = train.matrix.shape[1]
        self.trending = np.asarray(train.matrix.sum(axis=0), dtype=np.float64).ravel()
        for part in fitted.values():
            if isinstance(part, _Window):
                part.known_window = self.selection.query_window
        user = self.selection.contexts.get("user")
        self.reshow = {n: w for n, w in (user.reshow if user else {}).items() if w}
        self.comebacks = Comebacks(**user.comebacks) if user and user.comebacks else None
        if self.reshow:
            self.log = train.log
            self.rows = reshow.rows_by_user(train.log)
            self.repeat = reshow.purchases_model(train.log)
            self.last_time = float(train.log.timestamps.max()) if len(train.log.timestamps) else 0.0
        return self

    def excludes_seen(self, query: Query) -> bool:
        return not (self.reshow and query.row >= 0 and self._factor(query) > 0)

    def _factor(self, query: Query) -> float:
        """How much this user comes back (:func:`recommendations.engine.comebacks.comeback_factor`):
        the multiplier of their re-show weights, 0 for a user who never does."""
        events = self.rows.get(query.row, np.empty(0, np.int64))
        return comeback_factor(self.log, events, self.comebacks)

    def recommend(
        self, query: Query, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.excludes_seen(query):
            return super().recommend(query, k, exclude)
        return self._reshown(query, k, exclude)

    def _reshown(self, query: Query, k: int, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The chosen blend over the items the user has not touched, and the seen sources
        (weights chosen on the holdout) over those they have, as the self-evaluation scored it."""
        events = self.rows.get(query.row, np.empty(0, np.int64))
        seen = np.unique(self.log.items[events])
        weights, parts = self._weights(query), self._parts(query)
        base = np.zeros(self.n_items)
        for name, weight in weights.items():
            if weight and name in parts:
                s = np.asarray(parts[name].scores(query), dtype=np.float64).copy()
                s[seen] = 0.0  # normalised over the new items only, as in the validation
                base += weight * normalise(s)
        now = query.at if query.at is not None else self.last_time
        found = reshow.seen_scores(self.log, events, now, self.repeat)
        dense = {}
        for name, (items, scores) in found.items():
            dense[name] = np.zeros(self.n_items)
            dense[name][items] = scores
        factor = self._factor(query)
        scaled = {n: w * factor for n, w in self.reshow.items()}
        merged = reshow.merge(
            np.where(base > 0, base, -np.inf), seen, dense, scaled, exclude, reshow.ABSOLUTE
        )
        items = top_k(merged, k)
        if len(items) < k:  # topped up with trending new items, as the blend's fallback does
            taken = np.zeros(self.n_items, dtype=bool)
            taken[items] = True
            taken[seen] = True
            if exclude is not None and len(exclude):
                taken[np.asarray(exclude, dtype=np.int64)] = True
            trend = np.where(~taken & (self.trending > 0), self.trending * 1e-6, -np.inf)
            items = np.r_[items, top_k(trend, k - len(items))].astype(np.int64)
            merged = np.where(np.isfinite(merged), merged, trend)
        return items, merged[items]

    def _parts(self, query: Query) -> Mapping[str, Scorer]:
        return self.by_context["user" if query.row >= 0 else "session"]

    def describe(self) -> str:
        """One line per context: the chosen weights, their validation NDCG and why."""
        if self.selection is None:
            return "auto: not fitted"
        lines = []
        for context, choice in self.selection.contexts.items():
            chosen = choice.metrics.get("chosen", {})
            scores = ", ".join(f"{k} {v:.4f}" for k, v in chosen.items())
            weights = ", ".join(
                f"{k} {w:g}" + (f" {choice.params[k]}" if choice.params.get(k) else "")
                for k, w in choice.weights.items()
            )
            lines.append(f"auto/{context}: {weights} [{scores}] ({choice.reason})")
            if choice.reshow:
                seen = ", ".join(f"{k} {w:g}" for k, w in choice.reshow.items())
                lines.append(f"auto/{context}: re-shows the shopper's own items: {seen}")
                if choice.comebacks:
                    lines.append(
                        f"auto/{context}: ... scaled per shopper by how often they come back "
                        f"(shop rate {choice.comebacks['rate']:.3f} of later visits)"
                    )
        if self.selection.query_window < SEQUENCE_WINDOW:
            lines.append(f"auto/user: sequence models see the newest {self.selection.query_window} events")
        return "\n".join(lines)
