"""Items the shopper already touched: "browsed, not bought", and how much of a list they may take.

* :func:`browsed` scores the items a shopper viewed or carted and did not buy afterwards, by
  intent (a cart counts more than a view) and recency (exponential decay).
* :func:`merge` puts such "seen" sources into a list of new items: a seen item is placed only by
  the seen sources (``weight x normalised score``), never by the other sources (which would
  re-show whatever is similar to the history); seen items no seen source vouches for, and items
  the caller excludes (durables already bought), are left out. With every weight at 0 the result
  is exactly the old rule, "never show what the shopper touched".
* :func:`choose_weights` lets a holdout decide those weights: it scores every combination of a
  small grid on validation cases (NDCG@k), and keeps a heavier combination only when its mean
  gain over a lighter one is more than two standard errors of the paired difference.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .base import top_k

DEFAULT_INTENT: dict[str, float] = {"view": 1.0, "click": 1.0, "add_to_cart": 3.0, "remove_from_cart": 1.5}
WEIGHT_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Browsed:
    """Dense ``scores`` over the catalogue and, per scored item, the strongest kind ("add_to_cart")."""

    scores: np.ndarray
    strongest: dict[int, str] = field(default_factory=dict)


def browsed(
    items: np.ndarray,
    kinds: Sequence[str] | np.ndarray,
    timestamps: np.ndarray,
    now: float,
    n_items: int,
    half_life_seconds: float = 14 * 86400.0,
    intent: Mapping[str, float] = DEFAULT_INTENT,
) -> Browsed:
    """Viewed or carted and not purchased since: ``sum(intent x 0.5 ** (age / half_life))``.

    A purchase after (or at) an item's last browse removes it; browsing again after a purchase
    brings it back (interest in buying it again).
    """
    items = np.asarray(items, dtype=np.int64)
    stamps = np.asarray(timestamps, dtype=np.float64)
    kinds = np.asarray(kinds, dtype=object)
    scores = np.zeros(n_items)
    strongest: dict[int, str] = {}
    if not len(items):
        return Browsed(scores, strongest)
    bought_at: dict[int, float] = {}
    for item, kind, ts in zip(items.tolist(), kinds.tolist(), stamps.tolist(), strict=True):
        if kind == "purchase":
            bought_at[item] = max(ts, bought_at.get(item, -np.inf))
    best: dict[int, float] = {}
    age = np.maximum(now - stamps, 0.0)
    decay = 0.5 ** (age / half_life_seconds) if half_life_seconds > 0 else np.ones_like(age)
    for item, kind, ts, d in zip(
        items.tolist(), kinds.tolist(), stamps.tolist(), decay.tolist(), strict=True
    ):
        weight = float(intent.get(kind, 0.0))
        if weight <= 0 or not 0 <= item < n_items or ts <= bought_at.get(item, -np.inf):
            continue
        scores[item] += weight * d
        if weight > best.get(item, 0.0):
            best[item], strongest[item] = weight, kind
    return Browsed(scores, strongest)


def _unit(scores: np.ndarray) -> np.ndarray:
    s = np.where(np.isfinite(scores) & (scores > 0), scores, 0.0)
    top = s.max() if s.size else 0.0
    return s / top if top > 0 else s


def merge(
    base: np.ndarray,
    seen: np.ndarray,
    sources: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Scores over the catalogue: ``base`` for unseen items, the weighted seen sources for seen ones.

    ``seen``: indices of items the shopper touched. ``sources``: dense seen-source scores
    (max-normalised here). Seen items without a positive weighted score, and ``exclude``, get -inf.
    """
    out = np.where(np.isfinite(base), base, -np.inf).astype(np.float64)
    reshow = np.zeros(len(out))
    for name, weight in weights.items():
        if weight > 0 and name in sources:
            reshow += weight * _unit(sources[name])
    seen = np.asarray(seen, dtype=np.int64)
    seen_mask = np.zeros(len(out), dtype=bool)
    seen_mask[seen[(seen >= 0) & (seen < len(out))]] = True
    # a source may also vouch for items outside ``seen`` (e.g. live events the matrix lacks)
    seen_mask |= reshow > 0
    out[seen_mask] = np.where(reshow[seen_mask] > 0, reshow[seen_mask], -np.inf)
    if exclude is not None and len(exclude):
        out[np.asarray(exclude, dtype=np.int64)] = -np.inf
    return out


@dataclass(frozen=True)
class ValidationCase:
    """One held-out interaction: the base blend's scores, the seen items and sources, the target."""

    base: np.ndarray
    seen: np.ndarray
    sources: Mapping[str, np.ndarray]
    target: int
    exclude: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


@dataclass(frozen=True)
class Choice:
    weights: dict[str, float]
    ndcg: float
    baseline_ndcg: float  # all weights 0: never re-show
    n_cases: int
    table: tuple[tuple[dict[str, float], float], ...]  # every combination tried, with its NDCG


def _ndcg(ranked: np.ndarray, target: int) -> float:
    hit = np.flatnonzero(ranked == target)
    return float(1.0 / np.log2(hit[0] + 2.0)) if len(hit) else 0.0


def choose_weights(
    cases: Sequence[ValidationCase],
    names: Sequence[str],
    k: int = 10,
    grid: Sequence[float] = WEIGHT_GRID,
) -> Choice:
    """The weights of the seen sources ``names`` that a holdout supports (see the module docstring).

    Combinations are visited from the lightest (total weight) up; a combination replaces the
    current choice only if it beats it by more than two standard errors of the paired per-case
    NDCG difference. No case: every weight 0.
    """
    zero = dict.fromkeys(names, 0.0)
    if not cases:
        return Choice(zero, 0.0, 0.0, 0, ())
    combos = sorted(
        (dict(zip(names, values, strict=True)) for values in itertools.product(grid, repeat=len(names))),
        key=lambda w: (sum(w.values()), tuple(w.values())),
    )
    per_case: list[np.ndarray] = []
    for weights in combos:
        gains = np.array(
            [_ndcg(top_k(merge(c.base, c.seen, c.sources, weights, c.exclude), k), c.target) for c in cases]
        )
        per_case.append(gains)
    best = 0  # combos[0] is all zeros
    for j in range(1, len(combos)):
        diff = per_case[j] - per_case[best]
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.inf
        if diff.mean() > 2.0 * se and diff.mean() > 0:
            best = j
    table = tuple((combos[j], float(per_case[j].mean())) for j in range(len(combos)))
    return Choice(combos[best], float(per_case[best].mean()), float(per_case[0].mean()), len(cases), table)
