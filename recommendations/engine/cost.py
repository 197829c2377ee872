"""What a grid point of the self-evaluation (:mod:`.selection`) costs, from the data's shape alone.

The search is bounded by these estimates, never by the clock, so a loaded machine chooses as an
idle one. Each price is about the seconds one fit and the scoring of every validation query took
on the project's 2-core VM (OPENBLAS_NUM_THREADS=1), as a formula of the data's size fitted to
``bench/selfeval.py``'s synthetic shops (100k and 1M events, 2026-12-02). Only the ratios between
prices matter: the search spends a share of what the baselines cost (``Settings.search_cost``),
so a faster or a slower machine chooses the same. The formulas follow each model's work:

* iALS: every iteration sweeps the non-zeros once per factor (the CG products) plus a small
  dense solve per row; scoring folds every query in;
* item-kNN and RP3beta: the co-occurrence product (``sum over users of |items|^2``), its top-k
  neighbours (more work and a denser similarity as k grows);
* STAN: the sessions indexed once, then a neighbourhood search per query;
* EASE: a dense inverse of items x items;
* user-kNN: nothing to fit; each query's row against the users sharing its items (``sum over
  items of their user count squared``, spread over the users) and a dense row of scores;
* every model: the top lists of each query over the whole catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .candidates import Params


@dataclass(frozen=True)
class Shape:
    """What the prices depend on: the validation training matrix, its events and the queries."""

    nnz: int  # non-zeros of the training matrix
    pairs: float  # sum over users of their item count squared (co-occurrence work)
    n_items: int
    n_events: int  # training events (sequence models)
    n_queries: int  # validation queries over every split
    n_users: int = 1
    item_pairs: float = 0.0  # sum over items of their user count squared (user-kNN's work)

    @classmethod
    def of(cls, matrix: sp.csr_matrix, n_events: int, n_queries: int) -> Shape:
        lengths = np.diff(matrix.indptr).astype(np.float64)
        users = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
        return cls(
            int(matrix.nnz),
            float((lengths**2).sum()),
            int(matrix.shape[1]),
            n_events,
            n_queries,
            max(int(matrix.shape[0]), 1),
            float((users**2).sum()),
        )


def price(name: str, params: Params, shape: Shape) -> float:
    """Estimated seconds of fitting ``name`` with ``params`` and scoring every query (see above);
    deterministic: the same data shape always gives the same price."""
    q, items = shape.n_queries, shape.n_items
    ranking = 7e-9 * q * items  # every query's top list over the catalogue
    if name == "ials":
        f = float(params.get("factors", 64))
        iterations = float(params.get("iterations", 12))
        return 4.4e-7 * iterations * shape.nnz * (0.6 + 0.4 * f / 64) + 5e-4 * q * f / 64 + ranking
    if name in ("itemknn", "rp3beta"):
        k = float(params.get("k", 100))
        per_pair = 2.2e-8 if name == "itemknn" else 4e-8
        return per_pair * shape.pairs * (1 + k / 500) / 1.2 + ranking
    if name == "stan":
        return 3e-7 * shape.n_events + 2e-4 * q + ranking
    if name == "sequential_rules":
        return 2e-8 * shape.n_events + 5e-5 * q + ranking
    if name == "userknn":
        # measured against item-kNN on diginetica, amazon-beauty and yoochoose (2,000 queries):
        # 0.5-1.5x its time; rough, but never the near-free ranking alone
        return 1e-7 * q * shape.item_pairs / shape.n_users + ranking
    if name == "ease":
        return 4e-11 * float(items) ** 3 + ranking
    return ranking  # popularity: a count


@dataclass
class Budget:
    """The search's allowance: ``share`` of what the candidates' baselines cost (:func:`price`).

    A cost-aware round robin: the next point goes to the candidate that has spent least so far
    (ties in ``order``), so one iALS point weighs as much as the three item-kNN points it costs;
    a candidate whose next point costs more than is left stops searching in this rebuild. The
    order on ties turns with the data (``rotation``: a rebuild passes its training event count),
    so over successive rebuilds every candidate gets the first turn."""

    shape: Shape
    allowance: float
    order: tuple[str, ...]
    spent: dict[str, float]
    stopped: list[str]

    @classmethod
    def of(
        cls,
        matrix: sp.csr_matrix,
        n_events: int,
        n_queries: int,
        baselines: dict[str, Params],
        share: float,
        rotation: int = 0,
    ) -> Budget:
        shape = Shape.of(matrix, n_events, n_queries)
        allowance = share * sum(price(n, p, shape) for n, p in baselines.items())
        names = list(baselines)
        turn = rotation % len(names) if names else 0
        return cls(shape, allowance, tuple(names[turn:] + names[:turn]), dict.fromkeys(names, 0.0), [])

    @property
    def total(self) -> float:
        return sum(self.spent.values())

    def turns(self, searching: dict[str, object]) -> list[str]:
        """The candidate to search next: of those still ``searching``, the one that spent least."""
        live = [n for n in self.order if n in searching]
        return [min(live, key=lambda n: (self.spent[n], self.order.index(n)))] if live else []

    def spend(self, name: str, params: Params) -> bool:
        """Charge ``params``' price to ``name``; False (nothing charged) when it does not fit."""
        cost = price(name, params, self.shape)
        if self.total + cost > self.allowance:
            self.stopped.append(name)
            return False
        self.spent[name] += cost
        return True

    def note(self) -> str:
        spent = ", ".join(f"{n} {v:.1f}" for n, v in self.spent.items() if v)
        out = f"search cost {self.total:.1f} of {self.allowance:.1f} estimated seconds ({spent or 'nothing'})"
        return out + (f"; next point too dear for {', '.join(self.stopped)}" if self.stopped else "")
