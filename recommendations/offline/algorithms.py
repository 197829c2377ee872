"""The algorithms the offline command can run, behind one small interface.

Every entry of :data:`ALGORITHMS` builds a :class:`Scorer`: ``fit(TrainData)`` then
``recommend(Query, k, exclude)``. Matrix models (``Recommender``) see the actor x item confidence
matrix, where an actor is a user when one is known and otherwise a session; a query for an actor
not in training is folded in from its context events. Sequence models see the query's events in
time order. ``hybrid`` is the production blend (:mod:`recommendations.engine.hybrid`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommendations.engine import deep, session
from recommendations.engine.base import EventLog, top_k
from recommendations.engine.hybrid import SlotContext, SlotRecipe, SourceScores, blend, blend_scores
from recommendations.engine.session import SessionKNN, Sessions, Transitions


@dataclass(frozen=True)
class TrainData:
    log: EventLog  # users = actors (user, else session)
    matrix: sp.csr_matrix  # actors x items confidence
    sessions: Sessions
    weights: Mapping[str, float]
    popularity: np.ndarray  # distinct actors per item


@dataclass(frozen=True)
class Query:
    """What is known when recommending: context events (oldest first) and the actor row."""

    items: np.ndarray  # int64 item indices (unknown items already dropped)
    timestamps: np.ndarray
    weights: np.ndarray  # event-kind weight of each context event
    row: int = -1  # actor row in the training matrix, -1 for a new visitor
    at: float | None = None  # when the recommendation is asked for (None: after the last event)

    def history(self, train: TrainData) -> sp.csr_matrix:
        if self.row >= 0:
            return train.matrix[self.row]
        n_items = train.matrix.shape[1]
        values = np.bincount(self.items, weights=self.weights, minlength=n_items)
        values = np.maximum(values, 0.0)
        cols = np.flatnonzero(values)
        return sp.csr_matrix((values[cols], (np.zeros(len(cols), dtype=np.int64), cols)), shape=(1, n_items))


class Scorer:
    name = "scorer"

    def fit(self, train: TrainData) -> Scorer:
        raise NotImplementedError

    def scores(self, query: Query) -> np.ndarray:
        raise NotImplementedError

    def excludes_seen(self, query: Query) -> bool:
        """Whether a known user's training items must be kept out of the ranking: yes, unless
        the scorer itself places them (``auto`` where the holdout chose to re-show them)."""
        return True

    def recommend(
        self, query: Query, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(items, scores)``, best first; items with no positive score are not returned."""
        s = np.asarray(self.scores(query), dtype=np.float64)
        s = np.where(s > 0, s, -np.inf)
        items = top_k(s, k, exclude)
        return items, s[items]


class MatrixScorer(Scorer):
    def __init__(self, name: str, factory: Callable[[], Any]) -> None:
        self.name, self.factory = name, factory

    def fit(self, train: TrainData) -> MatrixScorer:
        self.train = train
        self.model = self.factory().fit(train.matrix)
        return self

    def scores(self, query: Query) -> np.ndarray:
        return np.asarray(self.model.score(query.history(self.train))).ravel()


class PopularityScorer(MatrixScorer):
    """Popularity ignores the context, so scoring is one lookup rather than a matrix product."""

    def scores(self, query: Query) -> np.ndarray:
        return self.model.item_scores


class SequenceScorer(Scorer):
    def __init__(self, name: str, factory: Callable[[], Any]) -> None:
        self.name, self.factory = name, factory

    def fit(self, train: TrainData) -> SequenceScorer:
        self.model = self.factory().fit(train.sessions)
        return self

    def scores(self, query: Query) -> np.ndarray:
        return self.model.score_sequence(query.items, query.timestamps)


def _popularity() -> Any:
    from recommendations.engine.popularity import Popularity

    return Popularity()


def _itemknn() -> Any:
    from recommendations.engine.itemknn import ItemKNN

    return ItemKNN(k=100, similarity="cosine")


def _userknn() -> Any:
    from recommendations.engine.userknn import UserKNN

    return UserKNN(k=50)


def _als() -> Any:
    from recommendations.engine.als import ALS

    return ALS(factors=64, iterations=15, regularization=0.05, alpha=10.0, seed=0)


def _rp3beta() -> Any:
    from recommendations.engine.rp3beta import RP3beta

    return RP3beta(k=100, alpha=1.0, beta=0.5)


def _ials() -> Any:
    from recommendations.engine.als import ALS

    # iALS with frequency-scaled regularisation (Rendle et al. 2022); untuned defaults here
    return ALS(factors=64, iterations=15, regularization=0.05, alpha=10.0, seed=0, frequency_scaling=1.0)


def _ease() -> Any:
    from recommendations.engine.ease import EASE

    return EASE(l2=200.0)


def stan() -> SessionKNN:
    """STAN-style session kNN with the engine's parameters (:data:`engine.session.STAN_PARAMS`)."""
    return session.stan()


# Hybrid weights per context type. "session": an anonymous live visitor (tuned on yoochoose
# train_tr -> train_valid); "user": a known user's history (tuned on amazon-beauty validation,
# the second-to-last item). Popularity is never blended in: it is the fallback chain's job.
SESSION_WEIGHTS: dict[str, float] = {"stan": 1.0, "sequential_rules": 0.1}
USER_WEIGHTS: dict[str, float] = {"stan": 1.0, "sequential_rules": 0.5, "itemknn": 0.25}


class HybridScorer(Scorer):
    """The production blend: session sources for visitors, history sources for known users."""

    name = "hybrid"

    def __init__(
        self,
        session_weights: Mapping[str, float] = SESSION_WEIGHTS,
        user_weights: Mapping[str, float] = USER_WEIGHTS,
    ) -> None:
        self.session_weights, self.user_weights = dict(session_weights), dict(user_weights)

    def fit(self, train: TrainData) -> HybridScorer:
        names = {n for n, w in {**self.session_weights, **self.user_weights}.items() if w} | {"popularity"}
        self.parts = {name: build(name).fit(train) for name in sorted(names)}
        self.n_items = train.matrix.shape[1]
        self.trending = np.asarray(self.parts["popularity"].model.item_scores, dtype=np.float64)
        return self

    def _weights(self, query: Query) -> dict[str, float]:
        return self.user_weights if query.row >= 0 else self.session_weights

    def _parts(self, query: Query) -> Mapping[str, Scorer]:
        return self.parts

    def scores(self, query: Query) -> np.ndarray:
        weights, parts = self._weights(query), self._parts(query)
        return blend_scores({n: parts[n].scores(query) for n in weights if weights[n]}, weights)

    def recommend(
        self, query: Query, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        weights, parts = self._weights(query), self._parts(query)
        evidence = tuple(int(i) for i in query.items[-1:])
        sources = {
            n: SourceScores(parts[n].scores(query), kind="viewed", default_evidence=evidence)
            for n, w in weights.items()
            if w
        }
        recipe = SlotRecipe(name="offline", sources=tuple(weights.items()), limit=k, fallbacks=("trending",))
        ctx = SlotContext(
            n_items=self.n_items,
            exclude=np.empty(0, dtype=np.int64) if exclude is None else np.asarray(exclude, dtype=np.int64),
            trending=self.trending,
        )
        recs = blend(recipe, sources, ctx)
        return np.array([r.item for r in recs], dtype=np.int64), np.array([r.score for r in recs])


def _auto() -> Scorer:
    from .auto import AutoScorer

    return AutoScorer()


ALGORITHMS: dict[str, Callable[[], Scorer]] = {
    "auto": _auto,
    "hybrid": HybridScorer,
    "popularity": lambda: PopularityScorer("popularity", _popularity),
    "itemknn": lambda: MatrixScorer("itemknn", _itemknn),
    "userknn": lambda: MatrixScorer("userknn", _userknn),
    "als": lambda: MatrixScorer("als", _als),
    "ease": lambda: MatrixScorer("ease", _ease),
    "rp3beta": lambda: MatrixScorer("rp3beta", _rp3beta),
    "ials": lambda: MatrixScorer("ials", _ials),
    "sknn": lambda: SequenceScorer("sknn", lambda: SessionKNN(k=100, sample_size=500, name="sknn")),
    "stan": lambda: SequenceScorer("stan", stan),
    "transitions": lambda: SequenceScorer("transitions", lambda: Transitions(steps=1)),
    "sequential_rules": lambda: SequenceScorer("sequential_rules", lambda: Transitions(steps=10)),
}
if deep.is_available():  # the optional [deep] extra (PyTorch)
    ALGORITHMS["gru4rec"] = lambda: SequenceScorer("gru4rec", deep.GRU4Rec)
DEFAULT_ALGORITHM = "auto"


def build(name: str) -> Scorer:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; valid names: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]()
