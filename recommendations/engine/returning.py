"""Users whose next visit only came back to items they had touched: the validation queries that
tell whether a known user's list should re-show those items (:mod:`.reshow`, :mod:`.selection`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from . import reshow as rs
from . import validation as v
from .base import EventLog, in_sorted, unique
from .comebacks import shop_comebacks
from .scoring import blend_ndcg
from .validation import Queries, Split, _by_user, _sequence


def returning_split(
    log: EventLog,
    n_new: int,
    max_queries: int = 2000,
    seed: int = 0,
    min_history: int = 2,
    skip: set[int] | frozenset[int] = frozenset(),
    order: np.ndarray | None = None,
) -> Split:
    """Users whose newest events only come back to items they had touched (context ``"user"``):
    one query each, their history before those events, the re-touched items the targets.

    Nothing is taken out of ``log`` (the models the other splits score keep their training log):
    a query's history is cut at ``at``, the newest events' time, and whatever scores it must see
    only events before then. Beside ``n_new`` queries of :func:`recent_split`, as many of these
    are sampled as the shop has returning users for each user with a new item (at most
    ``max_queries``), so both together look like the shop's next visits. ``order``:
    :func:`.validation.by_user_order` of ``log``, when the caller has it."""
    rng = np.random.default_rng(seed)
    order, starts, stops = _by_user(log, order=order)
    # every user at once: the newest events (at the user's last timestamp) are "held"; a user is
    # returning when each held item is in the history before them, fresh otherwise
    group = np.repeat(np.arange(len(starts)), stops - starts)
    held = log.timestamps[order] >= log.timestamps[order[stops - 1]][group]
    keys = group * np.int64(max(log.n_items, 1)) + log.items[order]
    history = unique(keys[~held])
    distinct = np.bincount(history // max(log.n_items, 1), minlength=len(starts))
    new_item = np.bincount(group[held][~in_sorted(keys[held], history)], minlength=len(starts)) > 0
    skipped = np.isin(log.users[order[starts]], np.fromiter(skip, np.int64, len(skip)))
    eligible = ~skipped & (distinct >= min_history)
    slots = rng.permutation(len(starts))
    n_fresh = int((eligible & new_item).sum())
    found = slots[(eligible & ~new_item)[slots]]  # returning users, in the sampled order
    wanted = (
        min(max_queries, round(n_new * len(found) / n_fresh)) if n_fresh else min(max_queries, len(found))
    )
    users, sequences, times, targets = [], [], [], []
    at = []
    for rows in (order[starts[g] : stops[g]] for g in found[:wanted].tolist()):
        held = log.timestamps[rows] >= log.timestamps[rows[-1]]
        users.append(int(log.users[rows[0]]))
        items, stamps = _sequence(log, rows[~held])
        sequences.append(items)
        times.append(stamps)
        targets.append(np.unique(log.items[rows[held]]).astype(np.int64))
        at.append(float(log.timestamps[rows[-1]]))
    queries = Queries(
        np.asarray(users, np.int64),
        sequences,
        times,
        targets,
        True,
        list(targets),
        np.asarray(at, np.float64),
    )
    return Split("returning", "user", log, queries)


def choose_reshow(
    ev: Any, choice: Any, scored: dict[str, list[tuple[Any, Any]]], pool: dict, names: list[str]
) -> None:
    """How much the chosen known-user blend (``choice``, of :func:`.selection.select`'s evaluator
    ``ev``) re-shows touched items (:mod:`.reshow`), on the user splits ``names``: the next visits
    are ``recent`` (re-touched items now targets too) plus :func:`returning_split`. Each query's
    seen sources are scaled by how often that user's visits came back (:mod:`.comebacks`, the
    shop's rate from ``ev.train``), and the rate goes with the choice for serving."""
    models = [m for m, w in choice.weights.items() if w and m in choice.params]
    parts = {m: next(r.lists for p, r in scored[m] if p == choice.params[m]) for m in models}
    used = {int(u) for split in ev.splits.values() for u in split.queries.users.tolist() if u >= 0}
    n_new = len(ev.splits["recent"].queries) if "recent" in ev.splits else 0
    order = ev.by_user_order()  # one order of the training log for both below
    returning = returning_split(
        ev.train, n_new, ev.settings.max_queries, ev.settings.seed + 5, skip=used, order=order
    )
    if len(returning.queries):
        ev.splits["returning"] = returning
        ev.history["returning"] = v.history_rows(returning, ev.matrix)
        ev.seen["returning"] = v.seen_matrix(returning)
        for m in models:
            parts[m] = {**parts[m], **ev.score(pool[m], choice.params[m], only=("returning",)).lists}
        for key in ("returning",):
            ev.splits.pop(key), ev.history.pop(key), ev.seen.pop(key)
    repeat = rs.purchases_model(ev.train)
    by_user = rs.rows_by_user(ev.train, order)  # once for every split (one training log)
    comebacks = shop_comebacks(ev.train)
    base, sources, targets = {}, {}, {}
    for name in names:
        q = ev.splits[name].queries
        lists = {m: [parts[m][name]] for m in models}
        found = [rs.seen_lists(ev.train, ev.splits[name], repeat, by_user, comebacks)]
        again = q.again or [np.empty(0, np.int64)] * len(q)
        wanted = [np.union1d(t, a) for t, a in zip(q.targets, again, strict=True)]
        if name == "recent" and len(returning.queries):  # the next visits: new items or old ones
            for m in models:
                lists[m].append(parts[m]["returning"])
            found.append(rs.seen_lists(ev.train, returning, repeat, by_user, comebacks))
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
    if choice.reshow:
        choice.comebacks = comebacks.as_dict()
    choice.metrics["without_reshow"] = found.before
    choice.metrics["with_reshow"] = found.after
    choice.n_queries["returning"] = len(returning.queries)
    why = found.reason
    if comebacks.rate <= 0:
        why = "no visit of a known user came back to an item an earlier visit touched: nothing re-shown"
    choice.reason = f"{choice.reason}; {why}"
