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
* :func:`choose_reshow` is the same choice in the rebuild's self-evaluation
  (:mod:`.selection`): the seen sources of each validation query (:func:`seen_lists`) on top of
  the chosen blend's lists, scored against every held-out item, re-touched ones included.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .base import EventLog, top_k
from .comebacks import Comebacks, comeback_factor
from .repeat import RepeatModel
from .validation import Split

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
    absolute: Collection[str] = (),
) -> np.ndarray:
    """Scores over the catalogue: ``base`` for unseen items, the weighted seen sources for seen ones.

    ``seen``: indices of items the shopper touched. ``sources``: dense seen-source scores
    (max-normalised here, except the ``absolute`` ones, already probabilities in [0, 1]). Seen
    items without a positive weighted score, and ``exclude``, get -inf.
    """
    out = np.where(np.isfinite(base), base, -np.inf).astype(np.float64)
    reshow = np.zeros(len(out))
    for name, weight in weights.items():
        if weight > 0 and name in sources:
            s = sources[name]
            reshow += weight * (np.where(s > 0, s, 0.0) if name in absolute else _unit(s))
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


# -- the self-evaluation's choice: how much of a known user's list re-shows what they touched --

#: seen sources, by the name serving gives them: consumables due again, and browsed-not-bought
SEEN_SOURCES: tuple[str, ...] = ("buy_again", "browsed")
#: seen sources whose scores are probabilities, blended as they are rather than max-normalised:
#: ``buy_again`` is P(bought again) x timing, ``browsed`` :func:`browsed_probability`, so an item
#: not due yet, or browsed long ago, stays low instead of being lifted to the top because it is
#: the shopper's best one
ABSOLUTE: tuple[str, ...] = ("buy_again", "browsed")


def browsed_probability(scores: np.ndarray) -> np.ndarray:
    """:func:`browsed` scores as a chance in [0, 1): ``1 - exp(-score)`` (a cart today 0.95, a
    view today 0.63, a view four half-lives ago 0.06), so old browsing stays low in a list."""
    s = np.asarray(scores, dtype=np.float64)
    out = np.zeros(s.shape)
    some = np.flatnonzero(~(s <= 0))  # browsed items (and NaN): a shopper browsed a few of 1M
    out[some] = 1.0 - np.exp(-s[some])
    return out


RESHOW_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)

ListScorer = Callable[[list[tuple[sp.csr_matrix, float]], list[np.ndarray]], np.ndarray]


@dataclass
class Reshow:
    """The chosen weights of the seen sources for a known user's list, with the validation NDCG
    of the chosen blend without (``before``) and with them (``after``), per split and overall
    (targets include the held-out items the shopper had touched before)."""

    weights: dict[str, float]
    before: dict[str, float]
    after: dict[str, float]
    reason: str


def rows_by_user(log: EventLog, order: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """Each known user's event rows of ``log``, oldest first (``order``:
    :func:`.validation.by_user_order` of ``log``, when the caller has it)."""
    if order is None:
        known = np.flatnonzero(log.users >= 0)
        order = known[np.lexsort((known, log.timestamps[known], log.users[known]))]
    users = log.users[order]
    cuts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(order) else np.empty(0, np.int64)
    return {
        int(users[a]): order[a:b]
        for a, b in zip(cuts.tolist(), np.r_[cuts[1:], len(order)].tolist(), strict=True)
    }


def seen_scores(
    log: EventLog, events: np.ndarray, now: float, repeat: RepeatModel
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One shopper's seen sources at ``now`` from their event rows ``events`` of ``log``:
    ``name -> (items, positive scores)`` (``buy_again``: purchases due again, durables never;
    ``browsed``: viewed or carted and not bought since)."""
    purchase = log.kind_names.index("purchase") if "purchase" in log.kind_names else -1
    stamps, items = log.timestamps[events], log.items[events]
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    bought = log.kinds[events] == purchase
    if bought.any():
        due = repeat.due(items[bought], stamps[bought], now)
        found["buy_again"] = (due.items, due.scores)
    names = np.asarray(log.kind_names, dtype=object)[log.kinds[events]]
    b = browsed_probability(browsed(items, names, stamps, now, log.n_items).scores)
    hit = np.flatnonzero(b > 0)
    found["browsed"] = (hit, b[hit])
    return found


def purchases_model(log: EventLog) -> RepeatModel:
    """The repeat-purchase model of ``log``'s purchase events (no categories: shop-level prior)."""
    bought = log.kinds == (log.kind_names.index("purchase") if "purchase" in log.kind_names else -1)
    return RepeatModel().fit(log.users[bought], log.items[bought], log.timestamps[bought], log.n_items)


def seen_lists(
    train: EventLog,
    split: Split,
    repeat: RepeatModel,
    by_user: dict[int, np.ndarray] | None = None,
    comebacks: Comebacks | None = None,
) -> dict[str, sp.csr_matrix]:
    """Per query of ``split`` (a known user's), each seen source's scores (max-normalised but the
    :data:`ABSOLUTE` ones), from the user's training events at the query's time
    (``queries.at``, else their last event), times the user's :func:`comeback_factor` (from
    the same events). ``by_user``: :func:`rows_by_user` of ``train``, when the caller has it
    already (several splits, one training log)."""
    q = split.queries
    by_user = rows_by_user(train) if by_user is None else by_user
    rows: dict[str, list[np.ndarray]] = {n: [] for n in SEEN_SOURCES}
    cols: dict[str, list[np.ndarray]] = {n: [] for n in SEEN_SOURCES}
    vals: dict[str, list[np.ndarray]] = {n: [] for n in SEEN_SOURCES}
    for i, user in enumerate(q.users.tolist()):
        events = by_user.get(user)
        if events is None or not len(events):
            continue
        stamps = train.timestamps[events]
        now = float(q.at[i]) if q.at is not None and len(q.at) > i else float(stamps.max())
        events = events[stamps < now] if q.at is not None and len(q.at) > i else events  # the past only
        if not len(events):
            continue
        factor = comeback_factor(train, events, comebacks)
        if factor <= 0:
            continue  # a shopper who never comes back: nothing re-shown
        found = seen_scores(train, events, now, repeat)
        for name, (idx, score) in found.items():
            if len(idx):
                rows[name].append(np.full(len(idx), i))
                cols[name].append(np.asarray(idx, dtype=np.int64))
                score = np.asarray(score, dtype=np.float64)
                vals[name].append(factor * (score if name in ABSOLUTE else score / float(np.max(score))))
    shape = (len(q), train.n_items)
    return {
        name: sp.csr_matrix(
            (np.concatenate(vals[name]), (np.concatenate(rows[name]), np.concatenate(cols[name]))),
            shape=shape,
        )
        if rows[name]
        else sp.csr_matrix(shape)
        for name in SEEN_SOURCES
    }


def _geomean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(np.maximum(values, 1e-9))))) if values else 0.0


def choose_reshow(
    base: Mapping[str, list[tuple[sp.csr_matrix, float]]],
    sources: Mapping[str, Mapping[str, sp.csr_matrix]],
    targets: Mapping[str, list[np.ndarray]],
    score: ListScorer,
    future: str = "recent",
    grid: Sequence[float] = RESHOW_GRID,
    margin: float = 0.01,
    tolerance: float = 0.01,
) -> Reshow:
    """How much the seen sources may take of the chosen blend's lists (see :func:`merge`).

    ``base`` per split: the chosen blend's weighted lists, the shopper's own items already left
    out; ``sources`` per split: :func:`seen_lists`; ``targets`` per split: every held-out item,
    touched before or not; ``score`` gives the per-query NDCG of weighted lists. The objective is
    the geometric mean over the splits. Combinations are visited lightest first; one replaces the
    current choice when it raises the objective by more than ``margin`` (relative), its
    per-query gain on the ``future`` split (the shop's next visits) is more than two standard
    errors of the paired difference, and it costs no other split more than ``tolerance``
    (relative to never re-showing). A random holdout can never reward re-showing (an item held out there is
    gone from the history), so it only bounds the price: a few held-out items pushed down the
    list. The seen sources come already scaled per shopper (:func:`comeback_factor`), so the
    shoppers who do not come back keep the lists they had and pay (almost) none of it.
    Nothing to re-show, or no combination good enough: all 0.
    """
    zero = dict.fromkeys(SEEN_SOURCES, 0.0)
    splits = [s for s in base if len(targets.get(s, []))]

    def run(weights: Mapping[str, float]) -> dict[str, np.ndarray]:
        out = {}
        for s in splits:
            extra = [(sources[s][n], w) for n, w in weights.items() if w and sources[s][n].nnz]
            out[s] = score([*base[s], *extra], targets[s])
        return out

    def summary(per_query: dict[str, np.ndarray]) -> dict[str, float]:
        means = {s: float(v.mean()) for s, v in per_query.items()}
        return {**means, "objective": _geomean(list(means.values()))}

    start = run(zero)
    best_w, best_q, best = zero, start, summary(start)
    never = best
    if not splits or not any(sources[s][n].nnz for s in splits for n in SEEN_SOURCES):
        return Reshow(zero, best, best, "nothing the shoppers touched to re-show")
    combos = sorted(
        (dict(zip(SEEN_SOURCES, v, strict=True)) for v in itertools.product(grid, repeat=len(SEEN_SOURCES))),
        key=lambda w: (sum(w.values()), tuple(w.values())),
    )
    for weights in combos[1:]:
        if not any(weights[n] and sources[s][n].nnz for s in splits for n in SEEN_SOURCES):
            continue
        trial_q = run(weights)
        trial = summary(trial_q)
        if trial["objective"] <= best["objective"] * (1 + margin):
            continue
        if any(trial[s] < never[s] * (1 - tolerance) for s in splits if s != future):
            continue  # re-showing costs the random holdout more than it may (against never)
        if future in trial_q:
            diff = trial_q[future] - best_q[future]
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.inf
            if not diff.mean() > 2.0 * se:
                continue
        best_w, best_q, best = weights, trial_q, trial
    base_summary = summary(start)
    if best_w is zero:
        reason = f"re-showing seen items does not beat {base_summary['objective']:.4f} on the holdout"
    else:
        shown = ", ".join(f"{n} x{w:g}" for n, w in best_w.items() if w)
        reason = f"re-show {shown}: {base_summary['objective']:.4f} -> {best['objective']:.4f}"
    return Reshow(dict(best_w), base_summary, best, reason)
