"""Users whose next visit only came back to items they had touched: the validation queries that
tell whether a known user's list should re-show those items (:mod:`.reshow`, :mod:`.selection`)."""

from __future__ import annotations

import numpy as np

from .base import EventLog
from .validation import Queries, Split, _by_user, _sequence


def returning_split(
    log: EventLog,
    n_new: int,
    max_queries: int = 2000,
    seed: int = 0,
    min_history: int = 2,
    skip: set[int] | frozenset[int] = frozenset(),
) -> Split:
    """Users whose newest events only come back to items they had touched (context ``"user"``):
    one query each, their history before those events, the re-touched items the targets.

    Nothing is taken out of ``log`` (the models the other splits score keep their training log):
    a query's history is cut at ``at``, the newest events' time, and whatever scores it must see
    only events before then. Beside ``n_new`` queries of :func:`recent_split`, as many of these
    are sampled as the shop has returning users for each user with a new item (at most
    ``max_queries``), so both together look like the shop's next visits."""
    rng = np.random.default_rng(seed)
    order, starts, stops = _by_user(log)
    n_fresh, found = 0, []
    for slot in rng.permutation(len(starts)).tolist():
        rows = order[starts[slot] : stops[slot]]
        if int(log.users[rows[0]]) in skip:
            continue
        held = log.timestamps[rows] >= log.timestamps[rows[-1]]
        history = np.unique(log.items[rows[~held]])
        if len(history) < min_history:
            continue
        if np.setdiff1d(log.items[rows[held]], history).size:
            n_fresh += 1
        else:
            found.append(rows)
    wanted = (
        min(max_queries, round(n_new * len(found) / n_fresh)) if n_fresh else min(max_queries, len(found))
    )
    users, sequences, times, targets = [], [], [], []
    at = []
    for rows in found[:wanted]:
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
