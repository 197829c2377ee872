"""``auto``: the default algorithm. It fits on the given events, validates on their own holdout
(:func:`recommendations.engine.selection.select`), keeps the chosen blend per context (known
user / new visitor), then recommends with it through the production blend."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recommendations.engine.candidates import Candidate, candidates
from recommendations.engine.interactions import build_matrix
from recommendations.engine.selection import Selection, Settings, select

from .algorithms import HybridScorer, MatrixScorer, PopularityScorer, Query, Scorer, SequenceScorer, TrainData

#: the most recent clicks a sequence model sees, as in serving and in the validation
SEQUENCE_WINDOW = 50
#: the self-evaluation's settings when none are given (more queries and evaluations than a
#: rebuild's: an offline run has the time, and a bigger sample resolves smaller gains)
SETTINGS = Settings(max_queries=1000, max_evaluations=80, contexts=("user", "session"))


class _Window(SequenceScorer):
    def scores(self, query: Query) -> np.ndarray:
        return self.model.score_sequence(query.items[-SEQUENCE_WINDOW:], query.timestamps[-SEQUENCE_WINDOW:])


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
        return self

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
        return "\n".join(lines)
