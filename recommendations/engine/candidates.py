"""The models the self-evaluation may choose from, with their small hyper-parameter grids.

Each :class:`Candidate` builds a fitted model from a training matrix (``"matrix"`` models:
``score(history)``) or from the training sessions (``"sequence"`` models:
``score_sequence(items, times)``). ``grid[0]`` is the default, tried first; the grids span the
usual ranges of each hyper-parameter (not values picked on any one dataset), and the selection
walks them in a deterministic order for a fixed number of evaluations
(:func:`recommendations.engine.selection.search_order`), so a shop pays for a bounded number of
points, never for a whole grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import scipy.sparse as sp

from .als import ALS
from .ease import EASE, L2_MULTIPLES, l2_grid
from .itemknn import ItemKNN
from .popularity import Popularity
from .rp3beta import RP3beta
from .session import STAN_PARAMS, Sessions, Transitions, stan
from .userknn import UserKNN

Params = dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    name: str
    kind: str  # "matrix" or "sequence"
    make: Callable[..., Any]  # make(**params) -> unfitted model
    grid: list[Params] = field(default_factory=lambda: [{}])
    #: the contexts whose splits it is scored on and which may choose it (None: every context)
    contexts: tuple[str, ...] | None = None

    def serves(self, context: str) -> bool:
        return self.contexts is None or context in self.contexts

    def fit(self, params: Params, matrix: sp.csr_matrix, sessions: Sessions) -> Any:
        model = self.make(**params)
        return model.fit(matrix if self.kind == "matrix" else sessions)


def _grid(**axes: list[Any]) -> list[Params]:
    """Every combination of ``axes``; the first values of every axis form the default."""
    keys = list(axes)
    return [dict(zip(keys, values, strict=True)) for values in product(*axes.values())]


def _ials(**params: Any) -> ALS:
    return ALS(iterations=12, seed=0, **params)


def _userknn(**params: Any) -> UserKNN:
    # a known user's own items are never its recommendations (see UserKNN's exclude_history)
    return UserKNN(exclude_history=True, **params)


def candidates(matrix: sp.csr_matrix, max_ease_items: int = 5_000) -> dict[str, Candidate]:
    """Every candidate for a training matrix (EASE only while the catalogue is small enough for
    several dense inverses within a rebuild)."""
    out = {
        "popularity": Candidate("popularity", "matrix", Popularity),
        # ranges as in Dacrema et al. 2019 (and irspack's search spaces): neighbours up to 1,000,
        # shrinkage up to 1,000 (log-spaced), with or without row normalisation
        "itemknn": Candidate(
            "itemknn",
            "matrix",
            ItemKNN,
            _grid(
                k=[100, 50, 200, 500, 1000],
                shrink=[0.0, 10.0, 50.0, 200.0, 1000.0],
                normalize=[False, True],
                similarity=["cosine"],
            ),
        ),
        # popularity penalty beta from none to strong (0-1), alpha around 1, up to 1,000 neighbours
        "rp3beta": Candidate(
            "rp3beta",
            "matrix",
            RP3beta,
            _grid(
                k=[100, 50, 200, 500, 1000],
                alpha=[1.0, 0.5, 0.7, 1.5],
                beta=[0.5, 0.0, 0.1, 0.2, 0.3, 0.7, 1.0],
                normalize=[False, True],
            ),
        ),
        "ials": Candidate(
            "ials",
            "matrix",
            _ials,
            _grid(
                factors=[64, 128],
                regularization=[0.05, 0.005, 0.5, 5.0],
                alpha=[10.0, 2.0, 40.0],
                frequency_scaling=[1.0, 0.0],
            ),
        ),
        "stan": Candidate(
            "stan",
            "sequence",
            stan,
            _grid(
                lambda_spw=[STAN_PARAMS["lambda_spw"], 2.0, 8.0], lambda_ipw=[STAN_PARAMS["lambda_ipw"], 10.0]
            ),
        ),
        "sequential_rules": Candidate(
            "sequential_rules", "sequence", Transitions, _grid(steps=[10, 3], lookback=[1, 3])
        ),
    }
    n_items = matrix.shape[1]
    if 2 <= n_items <= max_ease_items:
        values = l2_grid(matrix)
        default = values[L2_MULTIPLES.index(1.0)]
        out["ease"] = Candidate(
            "ease", "matrix", EASE, [{"l2": default}, *({"l2": v} for v in values if v != default)]
        )
    # the item-kNN ranges over users, for a known shopper's "for you" only: its neighbours are the
    # training users, and a new visitor's few clicks are the session models' (serving scores a
    # known shopper's history row against the stored user rows). Last, so adding it leaves the
    # other candidates' seeded search orders (selection: one generator per position) as they were
    out["userknn"] = Candidate(
        "userknn",
        "matrix",
        _userknn,
        _grid(k=[100, 50, 200, 500, 1000], shrink=[0.0, 10.0, 50.0, 200.0, 1000.0]),
        contexts=("user",),
    )
    return out
