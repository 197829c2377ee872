"""Self-evaluation: every rebuild chooses its blend per context from the shop's own holdout.

:func:`select` holds out, from one event log, disjoint groups of validation queries shaped like
the shop's future and like a random holdout (:mod:`.validation`):

* context ``"user"`` (a known shopper's "for you"): each sampled user's newest events
  (``recent``) and a random fifth of other users' items (``random``), their own history excluded;
* context ``"session"`` (an anonymous visitor): the next click of the newest sessions
  (``next_click``), nothing excluded. A new visitor's future is only ever their next click, so
  no other shape of holdout votes here;
* context ``"similar"`` (a product page): the other items viewed in the session of a held-out
  product view (``coview``), and ``"cart"``: the last item added to a held-out cart from the
  ones added before (``basket``); both from the newest sessions, as ``next_click``.

Only the queried users' and sessions' events leave the training log (a few percent of a big
shop's), so the validation fits are nearly the full-data fits.

Every candidate (:mod:`.candidates`) is fitted once per hyper-parameter point on the one training
log left over, and each query's top ``top_n`` items are kept, max-normalised as the serving blend
normalises them. A context's objective is the geometric mean of the mean NDCG@k over its splits
(a relative gain counts the same on either split, so the choice has to hold on both shapes of
data); a split with fewer than ``min_split_queries`` queries is left out of it (one query would
decide everything, or zero it).

Search, seeded and deterministic: every candidate's baseline first (its default, or the live
version's choice on a rebuild: a choice stays until a point beats it), then at most
``max_evaluations`` other grid points, taken round-robin over the candidates in the order of
:func:`search_order` (a coordinate search from the default: one hyper-parameter changed at a time,
then the best values of each combined, then the neighbours of the best so far, then the rest in a
seeded order). The count, not the clock, bounds the search, so a loaded machine chooses as an idle
one; ``budget_seconds`` is only a safety fuse (0: the defaults alone), and the record says when it
blew. With ``search_cost`` the points are also priced by a deterministic cost model of the data's
shape (:mod:`.cost`) and may cost at most that share of what the baselines cost, in a cost-aware
round robin (the candidate that spent least goes next), so a rebuild's search costs a bounded
share of its fits on any shop, and the search goes on over successive rebuilds. A model keeps its
baseline hyper-parameters unless its best point beats them by
``margin_se`` standard errors too. Then a greedy forward blend from the best single model adds a source at a relative weight
only when the paired per-query gain of the objective is more than ``margin_se`` standard errors
(and ``margin`` relative) and no split loses by more than ``margin_se`` standard errors: on small data a blend that wins
on noise is refused. Contexts with fewer than ``min_queries`` queries keep :data:`DEFAULT_BLENDS`
and say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from . import validation as v
from .base import EventLog
from .candidates import Candidate, Params, candidates
from .cost import Budget
from .evaluator import CONTEXT_SPLITS, _Evaluator, _Scored
from .item_splits import session_item_splits
from .returning import choose_reshow
from .scoring import blend_ndcg, paired_gain, param_key
from .scoring import objective as _objective
from .scoring import significant_loss as _significant_loss
from .scoring import summary as _summary
from .search import search_order
from .session import MAX_QUERY, query_window

#: the blends used when a shop has too little data to choose (tuned on public data, see docs)
DEFAULT_BLENDS: dict[str, dict[str, float]] = {
    "user": {"stan": 1.0, "sequential_rules": 0.5, "itemknn": 0.25},
    "session": {"stan": 1.0, "sequential_rules": 0.1},
    "similar": {"itemknn": 1.0, "ease": 0.6, "stan": 0.2},
    "cart": {"itemknn": 0.3, "stan": 0.2},
}
#: a rebuild serves the chosen validation fits as they are when at most this share of the events
#: was held out for validation (each sampled shopper's newest events and a few sessions, which
#: serving's live state covers anyway); above it, the chosen models are fitted again on all
REUSE_HELD_OUT_SHARE = 0.1


@dataclass(frozen=True)
class Settings:
    k: int = 10
    max_queries: int = 500  # per split
    min_queries: int = 100  # per context, below it the default blend is kept
    min_split_queries: int = 30  # a split with fewer queries is left out of the objective
    max_evaluations: int = 60  # grid points tried besides every candidate's baseline
    budget_seconds: float = 600.0  # a safety fuse only (0: the defaults alone); see the docstring
    margin: float = 0.01  # relative objective gain a more complex blend must bring
    margin_se: float = 2.0  # ... and in standard errors of its paired per-query gain
    blend_weights: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
    max_sources: int = 3
    top_n: int = 100
    seed: int = 0
    max_ease_items: int = 5_000
    only: tuple[str, ...] | None = None  # restrict the candidates (tests, benchmarks)
    contexts: tuple[str, ...] = tuple(CONTEXT_SPLITS)  # the contexts to choose for
    cart_kinds: tuple[str, ...] = ("add_to_cart", "cart", "purchase")  # event kinds of a cart
    keep_fitted: bool = False  # keep the chosen models' validation fits (Selection.fitted)
    keep_baseline: tuple[str, ...] = ()  # ... and these candidates' baseline fits (a rebuild's ALS)
    # with a value, the search's points may cost (cost.price, deterministic) at most this share of
    # what the baselines cost, in a cost-aware round robin (cost.Budget); None: a count only
    search_cost: float | None = None
    reshow: bool = True  # let the holdout decide whether a known user's list re-shows their items
    reshow_tolerance: float = 0.01  # what re-showing may cost the random split (relative)


@dataclass
class ContextChoice:
    context: str
    weights: dict[str, float]
    params: dict[str, Params]
    metrics: dict[str, dict[str, float]]  # model or "chosen"/"default" -> split (and "objective")
    n_queries: dict[str, int]
    reason: str
    # the seen sources (buy_again, browsed) the known user's list adds, chosen on the holdout
    reshow: dict[str, float] = field(default_factory=dict)
    # per shopper, the re-show weights are scaled by how much they come back (engine.comebacks):
    # the shop's rate and the prior's strength it was chosen with (empty: not scaled)
    comebacks: dict[str, float] = field(default_factory=dict)


@dataclass
class Selection:
    contexts: dict[str, ContextChoice]
    k: int
    seconds: float
    evaluated: int  # model fits scored
    notes: list[str] = field(default_factory=list)
    query_window: int = MAX_QUERY  # a known user's sequence-model query: their newest N events
    held_out_share: float = 0.0  # of the log's events, kept out of the validation training log
    cost: dict[str, float] = field(default_factory=dict)  # model -> seconds fitting and scoring it
    baselines: dict[str, Params] = field(default_factory=dict)  # model -> the point scored first
    #: (model, params key) -> the chosen models as fitted on the validation training log (only
    #: with ``Settings.keep_fitted``; never serialised): a rebuild may serve them instead of
    #: refitting when ``held_out_share`` is small
    fitted: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for ``ModelVersion.metrics``)."""
        out = asdict(replace(self, fitted={}))
        del out["fitted"]
        return out


def make_splits(log: EventLog, settings: Settings) -> tuple[EventLog, dict[str, v.Split]]:
    """Disjoint validation groups cut one after the other from ``log``; all share one training log."""
    n, seed = settings.max_queries, settings.seed
    # the log is sorted by user once: each split cut from the last one's training log derives its
    # order from the last one's (v.kept_order); the session splits share one sort by session
    recent = v.recent_split(log, max_queries=n, seed=seed)
    used = set(recent.queries.users.tolist())
    rand = v.random_split(recent.train, max_queries=n, seed=seed + 1, skip=used, order=recent.train_order)
    used |= set(rand.queries.users.tolist())
    by_session = v.by_user_order(rand.train, rand.train.sessions)
    nxt = v.session_split(rand.train, max_queries=n, seed=seed + 2, skip_users=used, order=by_session)
    # from the same newest sessions (some may also be next_click's); every queried session leaves
    coview, basket = session_item_splits(
        rand.train,
        max_queries=n,
        seed=seed + 4,
        skip_users=used,
        cart_kinds=settings.cart_kinds,
        order=by_session,
    )
    held = np.union1d(nxt.held_sessions, coview.held_sessions)
    keep = ~np.isin(rand.train.sessions, held)
    train = v.without_sessions(rand.train, held, keep)
    order = None if rand.train_order is None else v.kept_order(rand.train_order, keep)
    splits = {
        split.name: replace(split, train=train, train_order=order)
        for split in (recent, rand, nxt, coview, basket)
    }
    wanted = {name for c in settings.contexts for name in CONTEXT_SPLITS[c]}
    return train, {name: split for name, split in splits.items() if name in wanted}


def _choose_window(ev: _Evaluator, pool: dict[str, Candidate]) -> int:
    """A known user's sequence query: their newest :func:`.session.query_window` events when that
    beats the whole (capped) history by the margin on the user splits (best sequence default)."""
    short = query_window(ev.sessions)
    names = tuple(n for n in CONTEXT_SPLITS["user"] if n in ev.splits)
    sequence = [c for c in pool.values() if c.kind == "sequence"]
    longer = any(len(seq) > short for n in names for seq in ev.splits[n].queries.sequences)
    if short >= MAX_QUERY or not names or not sequence or not longer:
        return MAX_QUERY  # nothing a shorter query would change
    found = {}
    for window in (MAX_QUERY, short):
        ev.window = window
        found[window] = max(_objective(ev.score(c, c.grid[0], only=names).ndcg, names) for c in sequence)
    ev.window = MAX_QUERY
    return short if found[short] > found[MAX_QUERY] * (1 + ev.settings.margin) else MAX_QUERY


def _blend_scores(
    ev: _Evaluator, parts: dict[str, _Scored], weights: dict[str, float], names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    out = {}
    for split in names:
        lists = [(parts[m].lists[split], w) for m, w in weights.items() if w]
        out[split] = blend_ndcg(lists, ev.splits[split].queries.targets, ev.settings.k)
    return out


def _choose_context(
    ev: _Evaluator, context: str, scored: dict[str, list[tuple[Params, _Scored]]]
) -> ContextChoice:
    s, names = ev.settings, ev.names(context)
    all_names = tuple(n for n in CONTEXT_SPLITS[context] if n in ev.splits)
    n_queries = {n: len(ev.splits[n].queries) for n in all_names}
    best_params: dict[str, Params] = {}
    parts: dict[str, _Scored] = {}
    metrics: dict[str, dict[str, float]] = {}
    for name, tried in scored.items():
        if not any(n in tried[0][1].ndcg for n in all_names):
            continue  # a candidate of other contexts only (Candidate.contexts): never scored here
        params, result = max(tried, key=lambda pr: _objective(pr[1].ndcg, names))  # first on ties
        if names and result is not tried[0][1]:
            # the baseline (tried first: the default or the live choice) stays unless the best
            # point beats it beyond noise too
            gain, se = paired_gain(
                {n: result.per_query[n] for n in names}, {n: tried[0][1].per_query[n] for n in names}, names
            )
            if not gain > s.margin_se * se:
                params, result = tried[0]
        best_params[name] = params
        parts[name] = result
        metrics[name] = {**{n: result.ndcg[n] for n in all_names if n in result.ndcg}}
        metrics[name]["objective"] = _objective(result.ndcg, names)
    default = {m: w for m, w in DEFAULT_BLENDS[context].items() if m in parts}
    if default and names:
        metrics["default"] = _summary(_blend_scores(ev, parts, default, names), names)
    if sum(n_queries.values()) < s.min_queries or not parts or not names:
        weights = DEFAULT_BLENDS[context]
        reason = (
            f"too little data: {sum(n_queries.values())} validation queries (< {s.min_queries}"
            f" in all, or no split with {s.min_split_queries}); default kept"
        )
        return ContextChoice(context, dict(weights), {}, metrics, n_queries, reason)
    ignored = sorted(set(all_names) - set(names))
    single = max(parts, key=lambda m: metrics[m]["objective"])
    weights = {single: 1.0}
    now_q = {n: parts[single].per_query[n] for n in names}
    now = _summary(now_q, names)
    steps = [f"best single model: {single} ({now['objective']:.4f})"]
    if ignored:
        steps.insert(0, f"ignored (< {s.min_split_queries} queries): {', '.join(ignored)}")
    while len(weights) < s.max_sources:
        trials = []
        for m in parts:
            for w in s.blend_weights if m not in weights else ():
                blend = {**weights, m: w}
                trial_q = _blend_scores(ev, parts, blend, names)
                trial = _summary(trial_q, names)
                gain, se = paired_gain(trial_q, now_q, names)
                # a richer blend must win overall by the margin and by more than margin_se standard
                # errors of its paired gain, and lose on no split beyond noise (a trade between the
                # shapes of the future is the geometric mean's to judge, not a veto of either)
                if (
                    gain > np.log1p(s.margin)
                    and gain > s.margin_se * se
                    and not any(_significant_loss(trial_q[n], now_q[n], s.margin_se) for n in names)
                ):
                    trials.append((blend, trial, trial_q, gain / se if se > 0 else np.inf))
        if not trials:
            steps.append(
                f"no addition beats {now['objective']:.4f} by {s.margin:.0%} and {s.margin_se:g} standard "
                "errors without a significant loss on a split"
            )
            break
        blend, now, now_q, z = max(trials, key=lambda t: t[1]["objective"])
        added = next(iter(set(blend) - set(weights)))
        steps.append(f"+{added} x{blend[added]} -> {now['objective']:.4f} ({z:.1f} SE)")
        weights = blend
    metrics["chosen"] = now
    params = {m: best_params[m] for m in weights}
    return ContextChoice(context, weights, params, metrics, n_queries, "; ".join(steps))


def _overall(ev: _Evaluator, result: _Scored) -> float:
    """A grid point's worth for the search order: its geometric mean NDCG over every used split."""
    return _objective(result.ndcg, tuple(sorted(ev.used)))


def select(
    log: EventLog,
    build: v.MatrixBuilder,
    settings: Settings | None = None,
    clock: Callable[[], float] = time.monotonic,
    previous: Mapping[str, Params] | None = None,
) -> Selection:
    """Choose each context's blend on ``log``'s own holdout (see the module docstring).

    ``previous``: model -> the hyper-parameters an earlier selection chose (a rebuild passes the
    live version's). Each is scored right after the defaults (one evaluation each) and the search
    goes on around it, so successive rebuilds carry the search on with a small count each."""
    s = settings or Settings()
    started = clock()
    train, splits = make_splits(log, s)
    ev = _Evaluator(train, splits, build, s)
    pool = candidates(ev.matrix, s.max_ease_items)
    if s.only is not None:
        pool = {n: c for n, c in pool.items() if n in s.only}
    scored: dict[str, list[tuple[Params, _Scored]]] = {n: [] for n in pool}
    notes = []
    enough = any(
        sum(len(ev.splits[n].queries) for n in names if n in ev.splits) >= s.min_queries
        for c, names in CONTEXT_SPLITS.items()
        if c in s.contexts
    )
    if not enough:
        notes.append("too little data to validate any context: nothing was fitted for validation")
    else:
        if "user" in s.contexts:
            ev.window = _choose_window(ev, pool)
            if ev.window < MAX_QUERY:
                notes.append(f"known users' sequence models are queried with their newest {ev.window} events")
        keys = {n: {param_key(p) for p in c.grid} for n, c in pool.items()}
        centres = {
            n: dict(p)
            for n, p in (previous or {}).items()
            if s.budget_seconds > 0
            and n in pool
            and param_key(p) in keys[n]
            and param_key(p) != param_key(pool[n].grid[0])
        }
        # every candidate's baseline, whatever the budget: the live version's choice where there
        # is one (a choice is kept until a point beats it beyond noise; the default is then one
        # more grid point), else the default
        for cand in pool.values():
            base = centres.get(cand.name, cand.grid[0])
            ev.baselines[cand.name] = param_key(base)
            scored[cand.name].append((base, ev.score(cand, base)))
        left, fuse = (s.max_evaluations, False) if s.budget_seconds > 0 else (0, False)
        progress: dict[str, list[tuple[Params, float]]] = {
            n: [(p, _overall(ev, r)) for p, r in scored[n]] for n in pool
        }
        orders = {
            n: search_order(c.grid, progress[n], np.random.default_rng([s.seed, i]), centres.get(n))
            for i, (n, c) in enumerate(pool.items())
        }
        budget = None
        if s.search_cost is not None:
            n_queries = sum(len(split.queries) for split in ev.splits.values())
            first = {n: r[0][0] for n, r in scored.items()}
            n_events = len(ev.train.items)
            budget = Budget.of(ev.matrix, n_events, n_queries, first, s.search_cost, n_events)
        while left > 0 and orders and not fuse:
            for name in list(orders) if budget is None else budget.turns(orders):
                if left <= 0:
                    break
                if clock() - started > s.budget_seconds:
                    fuse = True
                    break
                params = next(orders[name], None)
                if params is None or (budget is not None and not budget.spend(name, params)):
                    del orders[name]  # searched through, or its next point costs more than is left
                    continue
                result = ev.score(pool[name], params)
                scored[name].append((params, result))
                progress[name].append((params, _overall(ev, result)))
                left -= 1
        if budget is not None:
            notes.append(budget.note())
        if fuse:
            notes.append(
                f"time fuse of {s.budget_seconds:g}s blew after {s.max_evaluations - left} of "
                f"{s.max_evaluations} evaluations: this choice depends on the machine's speed"
            )
        elif s.budget_seconds <= 0:
            notes.append("no search (time fuse 0): every candidate's default only")
        else:
            notes.append(f"{s.max_evaluations - left} grid points tried besides the baselines")
        if centres:
            notes.append(f"the search went on from the previous choice of {', '.join(sorted(centres))}")
    baselines = {n: r[0][0] for n, r in scored.items() if r}
    scored = {n: r for n, r in scored.items() if r}
    contexts = {c: _choose_context(ev, c, scored) for c in s.contexts}
    user = contexts.get("user")
    if s.reshow and user is not None and user.params:
        choose_reshow(ev, user, scored, pool, [n for n in CONTEXT_SPLITS["user"] if n in ev.splits])
    chosen = {(m, param_key(p)) for choice in contexts.values() for m, p in choice.params.items()}
    chosen |= {(m, param_key(p)) for m, p in baselines.items() if m in s.keep_baseline}
    fitted = {key: model for key, model in ev.kept.items() if key in chosen}
    share = 1.0 - len(train.items) / max(len(log.items), 1)
    return Selection(
        contexts,
        s.k,
        round(clock() - started, 3),
        len(ev.cache),
        notes,
        ev.window,
        held_out_share=round(share, 4),
        cost=ev.cost,
        baselines=baselines,
        fitted=fitted,
    )
