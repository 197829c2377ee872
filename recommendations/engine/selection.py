"""Self-evaluation: every rebuild chooses its blend per context from the shop's own holdout.

:func:`select` holds out, from one event log, disjoint groups of validation queries shaped like
the shop's future and like a random holdout (:mod:`.validation`):

* context ``"user"`` (a known shopper's "for you"): each sampled user's newest events
  (``recent``) and a random fifth of other users' items (``random``), their own history excluded;
* context ``"session"`` (an anonymous visitor): the next click of the newest sessions
  (``next_click``) and a random fifth of other sessions' items queried as a new visitor
  (``random_visitor``), nothing excluded;
* context ``"similar"`` (a product page): the other items viewed in the session of a held-out
  product view (``coview``), and ``"cart"``: the last item added to a held-out cart from the
  ones added before (``basket``); both from the same held-out sessions as ``next_click``.

Every candidate (:mod:`.candidates`) is fitted once per hyper-parameter point on the one training
log left over, and each query's top ``top_n`` items are kept, max-normalised as the serving blend
normalises them. A context's objective is the geometric mean of the mean NDCG@k over its splits
(a relative gain counts the same on either split, so the choice has to hold on both shapes of
data). Search, seeded and bounded by ``budget_seconds``: every candidate's default first, then the
other grid points round-robin while time is left; then a greedy forward blend from the best single
model, adding a source at a relative weight only when the objective rises by more than ``margin``
(relative). Contexts with fewer than ``min_queries`` queries keep :data:`DEFAULT_BLENDS` and say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import reshow as rs
from . import validation as v
from .base import EventLog
from .candidates import Candidate, Params, candidates
from .returning import returning_split
from .session import MAX_QUERY, Sessions, query_window

#: the blends used when a shop has too little data to choose (tuned on public data, see docs)
DEFAULT_BLENDS: dict[str, dict[str, float]] = {
    "user": {"stan": 1.0, "sequential_rules": 0.5, "itemknn": 0.25},
    "session": {"stan": 1.0, "sequential_rules": 0.1},
    "similar": {"itemknn": 1.0, "ease": 0.6, "stan": 0.2},
    "cart": {"itemknn": 0.3, "stan": 0.2},
}
CONTEXT_SPLITS = {
    "user": ("recent", "random"),
    "session": ("next_click", "random_visitor"),
    "similar": ("coview",),
    "cart": ("basket",),
}


@dataclass(frozen=True)
class Settings:
    k: int = 10
    max_queries: int = 500  # per split
    min_queries: int = 100  # per context, below it the default blend is kept
    budget_seconds: float = 120.0
    margin: float = 0.01  # relative objective gain a more complex blend must bring
    blend_weights: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
    max_sources: int = 3
    top_n: int = 100
    seed: int = 0
    max_ease_items: int = 5_000
    only: tuple[str, ...] | None = None  # restrict the candidates (tests, benchmarks)
    contexts: tuple[str, ...] = tuple(CONTEXT_SPLITS)  # the contexts to choose for
    cart_kinds: tuple[str, ...] = ("add_to_cart", "cart", "purchase")  # event kinds of a cart
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


@dataclass
class Selection:
    contexts: dict[str, ContextChoice]
    k: int
    seconds: float
    evaluated: int  # model fits scored
    notes: list[str] = field(default_factory=list)
    query_window: int = MAX_QUERY  # a known user's sequence-model query: their newest N events

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for ``ModelVersion.metrics``)."""
        return asdict(self)


@dataclass
class _Scored:
    lists: dict[str, sp.csr_matrix]  # split -> queries x items, normalised top-n scores
    ndcg: dict[str, float]


def make_splits(log: EventLog, settings: Settings) -> tuple[EventLog, dict[str, v.Split]]:
    """Disjoint validation groups cut one after the other from ``log``; all share one training log."""
    n, seed = settings.max_queries, settings.seed
    recent = v.recent_split(log, max_queries=n, seed=seed)
    used = set(recent.queries.users.tolist())
    rand = v.random_split(recent.train, max_queries=n, seed=seed + 1, skip=used)
    used |= set(rand.queries.users.tolist())
    nxt = v.session_split(rand.train, max_queries=n, seed=seed + 2, skip_users=used)
    # the same held-out sessions (same log, share and skipped users), so the same training log
    coview, basket = v.session_item_splits(
        rand.train, max_queries=n, seed=seed + 4, skip_users=used, cart_kinds=settings.cart_kinds
    )
    visitor = v.random_split(nxt.train, max_queries=n, seed=seed + 3, by_session=True, skip=used)
    train = visitor.train
    splits = {
        "recent": replace(recent, train=train),
        "random": replace(rand, train=train),
        "next_click": replace(nxt, train=train),
        "random_visitor": replace(visitor, name="random_visitor", context="session", train=train),
        "coview": replace(coview, train=train),
        "basket": replace(basket, train=train),
    }
    wanted = {name for c in settings.contexts for name in CONTEXT_SPLITS[c]}
    return train, {name: split for name, split in splits.items() if name in wanted}


def _top_lists(block: np.ndarray, exclude: sp.csr_matrix | None, top_n: int) -> sp.csr_matrix:
    """The ``top_n`` positive scores of each row, divided by the row's best (as blend's "max")."""
    top = v.ranked(block, top_n, exclude)
    rows = np.repeat(np.arange(len(top)), top.shape[1])
    cols = top.ravel()
    ok = cols >= 0
    vals = block[rows[ok], cols[ok]].astype(np.float64)
    best = np.zeros(len(top))
    np.maximum.at(best, rows[ok], vals)
    vals = vals / best[rows[ok]]
    return sp.csr_matrix((vals, (rows[ok], cols[ok])), shape=block.shape)


def blend_ndcg(lists: list[tuple[sp.csr_matrix, float]], targets: list[np.ndarray], k: int) -> np.ndarray:
    """Per-query NDCG@k of the weighted sum of normalised lists (ties to the lower item)."""
    total = lists[0][0] * lists[0][1]
    for matrix, weight in lists[1:]:
        total = total + matrix * weight
    total = sp.csr_matrix(total)
    total.eliminate_zeros()
    coo = total.tocoo()
    keep = coo.data > 0
    rows, cols, vals = coo.row[keep], coo.col[keep], coo.data[keep]
    order = np.lexsort((cols, -vals, rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(total.shape[0]))
    rank = np.arange(len(rows)) - starts[rows]
    top = rank < k
    rows, cols, rank = rows[top], cols[top], rank[top]
    n_items = total.shape[1]
    target_rows = np.repeat(np.arange(len(targets)), [len(t) for t in targets])
    target_keys = target_rows * n_items + (np.concatenate(targets) if targets else np.empty(0, np.int64))
    hit = np.isin(rows.astype(np.int64) * n_items + cols, target_keys)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = np.bincount(rows[hit], weights=discounts[rank[hit]], minlength=len(targets))
    ideal = np.cumsum(discounts)[np.minimum([len(t) for t in targets], k) - 1] if targets else np.zeros(0)
    return dcg / ideal


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
        self.fitted: dict[tuple[str, str], Any] = {}  # fits kept between a partial and a full score

    def score(self, cand: Candidate, params: Params, only: tuple[str, ...] | None = None) -> _Scored:
        """``cand`` fitted with ``params``, scored on every split (``only``: on those, uncached)."""
        key = (cand.name, repr(sorted(params.items())))
        if key not in self.cache or only is not None:
            model = self.fitted.pop(key, None)
            if model is None:
                model = cand.fit(params, self.matrix, self.sessions)
            if only is not None:
                self.fitted[key] = model
            lists, ndcg = {}, {}
            for name, split in self.splits.items():
                if only is not None and name not in only:
                    continue
                blocks = []
                q = split.queries
                for start in range(0, len(q), 256):
                    idx = np.arange(start, min(start + 256, len(q)))
                    block = self._block(cand, model, name, idx)
                    seen = self.seen[name]
                    blocks.append(_top_lists(block, None if seen is None else seen[idx], self.settings.top_n))
                lists[name] = sp.vstack(blocks, format="csr")
                ndcg[name] = float(blend_ndcg([(lists[name], 1.0)], q.targets, self.settings.k).mean())
            if only is not None:
                return _Scored(lists, ndcg)
            self.cache[key] = _Scored(lists, ndcg)
        return self.cache[key]

    def _block(self, cand: Candidate, model: Any, split: str, idx: np.ndarray) -> np.ndarray:
        if cand.kind == "matrix":
            return np.asarray(model.score(self.history[split][idx]), dtype=np.float64)
        q = self.splits[split].queries
        n = self.window if self.splits[split].context == "user" else MAX_QUERY
        return np.vstack([model.score_sequence(q.sequences[i][-n:], q.times[i][-n:]) for i in idx.tolist()])


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


def _objective(ndcg: dict[str, float], names: tuple[str, ...]) -> float:
    values = [max(ndcg[n], 1e-9) for n in names if n in ndcg]
    return float(np.exp(np.mean(np.log(values)))) if values else 0.0


def _blend_metrics(
    ev: _Evaluator, parts: dict[str, _Scored], weights: dict[str, float], names: tuple[str, ...]
) -> dict[str, float]:
    out = {}
    for split in names:
        if split in ev.splits:
            lists = [(parts[m].lists[split], w) for m, w in weights.items() if w]
            out[split] = float(blend_ndcg(lists, ev.splits[split].queries.targets, ev.settings.k).mean())
    out["objective"] = _objective(out, names)
    return out


def _choose_context(
    ev: _Evaluator, context: str, scored: dict[str, list[tuple[Params, _Scored]]]
) -> ContextChoice:
    s, names = ev.settings, CONTEXT_SPLITS[context]
    n_queries = {n: len(ev.splits[n].queries) for n in names if n in ev.splits}
    best_params: dict[str, Params] = {}
    parts: dict[str, _Scored] = {}
    metrics: dict[str, dict[str, float]] = {}
    for name, tried in scored.items():
        params, result = max(tried, key=lambda pr: _objective(pr[1].ndcg, names))  # first on ties
        best_params[name] = params
        parts[name] = result
        metrics[name] = {**{n: result.ndcg[n] for n in names if n in result.ndcg}}
        metrics[name]["objective"] = _objective(result.ndcg, names)
    default = {m: w for m, w in DEFAULT_BLENDS[context].items() if m in parts}
    if default and n_queries:
        metrics["default"] = _blend_metrics(ev, parts, default, names)
    if sum(n_queries.values()) < s.min_queries or not parts:
        weights = DEFAULT_BLENDS[context]
        reason = (
            f"too little data: {sum(n_queries.values())} validation queries (< {s.min_queries}); default kept"
        )
        return ContextChoice(context, dict(weights), {}, metrics, n_queries, reason)
    single = max(parts, key=lambda m: metrics[m]["objective"])
    weights = {single: 1.0}
    now = metrics[single]
    steps = [f"best single model: {single} ({now['objective']:.4f})"]
    while len(weights) < s.max_sources:
        trials = []
        for m in parts:
            for w in s.blend_weights if m not in weights else ():
                trial = _blend_metrics(ev, parts, {**weights, m: w}, names)
                # a richer blend must win overall by the margin and lose on no split by more
                if trial["objective"] > now["objective"] * (1 + s.margin) and all(
                    trial[n] >= now[n] * (1 - s.margin) for n in names if n in now
                ):
                    trials.append(({**weights, m: w}, trial))
        if not trials:
            steps.append(f"no addition beats {now['objective']:.4f} by {s.margin:.0%} without losing a split")
            break
        blend, now = max(trials, key=lambda t: t[1]["objective"])
        added = next(iter(set(blend) - set(weights)))
        steps.append(f"+{added} x{blend[added]} -> {now['objective']:.4f}")
        weights = blend
    metrics["chosen"] = _blend_metrics(ev, parts, weights, names)
    params = {m: best_params[m] for m in weights}
    return ContextChoice(context, weights, params, metrics, n_queries, "; ".join(steps))


def select(
    log: EventLog,
    build: v.MatrixBuilder,
    settings: Settings | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Selection:
    """Choose each context's blend on ``log``'s own holdout (see the module docstring)."""
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
        for cand in pool.values():  # every default, whatever the budget
            scored[cand.name].append((cand.grid[0], ev.score(cand, cand.grid[0])))
        rng = np.random.default_rng(s.seed)
        queues = {n: [c.grid[i] for i in rng.permutation(np.arange(1, len(c.grid)))] for n, c in pool.items()}
        while any(queues.values()):
            if clock() - started > s.budget_seconds:
                left = sum(len(q) for q in queues.values())
                notes.append(f"time budget of {s.budget_seconds:.0f}s reached; {left} grid points not tried")
                break
            for name, queue in queues.items():
                if queue and clock() - started <= s.budget_seconds:
                    params = queue.pop(0)
                    scored[name].append((params, ev.score(pool[name], params)))
    scored = {n: r for n, r in scored.items() if r}
    contexts = {c: _choose_context(ev, c, scored) for c in s.contexts}
    user = contexts.get("user")
    if s.reshow and user is not None and user.params:
        _choose_reshow(ev, user, scored, pool)
    return Selection(contexts, s.k, round(clock() - started, 3), len(ev.cache), notes, ev.window)


def _choose_reshow(
    ev: _Evaluator, choice: ContextChoice, scored: dict[str, list[tuple[Params, _Scored]]], pool: dict
) -> None:
    """How much the chosen known-user blend re-shows touched items (:mod:`.reshow`): the next
    visits are ``recent`` (re-touched items now targets too) plus :func:`.returning.returning_split`."""
    names = [n for n in CONTEXT_SPLITS["user"] if n in ev.splits]
    models = [m for m, w in choice.weights.items() if w and m in choice.params]
    parts = {m: next(r.lists for p, r in scored[m] if p == choice.params[m]) for m in models}
    used = {int(u) for split in ev.splits.values() for u in split.queries.users.tolist() if u >= 0}
    n_new = len(ev.splits["recent"].queries) if "recent" in ev.splits else 0
    returning = returning_split(ev.train, n_new, ev.settings.max_queries, ev.settings.seed + 5, skip=used)
    if len(returning.queries):
        ev.splits["returning"] = returning
        ev.history["returning"] = v.history_rows(returning, ev.matrix)
        ev.seen["returning"] = v.seen_matrix(returning)
        for m in models:
            parts[m] = {**parts[m], **ev.score(pool[m], choice.params[m], only=("returning",)).lists}
        for key in ("returning",):
            ev.splits.pop(key), ev.history.pop(key), ev.seen.pop(key)
    repeat = rs.purchases_model(ev.train)
    base, sources, targets = {}, {}, {}
    for name in names:
        q = ev.splits[name].queries
        lists = {m: [parts[m][name]] for m in models}
        found = [rs.seen_lists(ev.train, ev.splits[name], repeat)]
        again = q.again or [np.empty(0, np.int64)] * len(q)
        wanted = [np.union1d(t, a) for t, a in zip(q.targets, again, strict=True)]
        if name == "recent" and len(returning.queries):  # the next visits: new items or old ones
            for m in models:
                lists[m].append(parts[m]["returning"])
            found.append(rs.seen_lists(ev.train, returning, repeat))
            wanted += list(returning.queries.targets)
        base[name] = [(sp.vstack(lists[m], format="csr"), choice.weights[m]) for m in models]
        sources[name] = {n: sp.vstack([f[n] for f in found], format="csr") for n in rs.SEEN_SOURCES}
        targets[name] = wanted
    found = rs.choose_reshow(
        base,
        sources,
        targets,
        lambda lists, t: blend_ndcg(lists, t, ev.settings.k),
        margin=ev.settings.margin,
        tolerance=ev.settings.reshow_tolerance,
    )
    choice.reshow = {n: w for n, w in found.weights.items() if w}
    choice.metrics["without_reshow"] = found.before
    choice.metrics["with_reshow"] = found.after
    choice.n_queries["returning"] = len(returning.queries)
    choice.reason = f"{choice.reason}; {found.reason}"
