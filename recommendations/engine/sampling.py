"""A seeded sample of a big event log's shoppers, for validation whose cost must stay bounded.

The self-evaluation (:mod:`.selection`) fits every candidate on the log it is given, several
times; on a big shop that grows with the events. :func:`sample_users` keeps every event of a
seeded random subset of the users (an anonymous row: of its session), drawn until the kept events
reach a cap, so each sampled shopper keeps their whole history and sessions (what the splits
hold out and the sequence models learn from) and the catalogue keeps its columns. Users are
renumbered densely in their original order; a log within the cap is returned as it is.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .base import EventLog


def sample_users(log: EventLog, max_events: int, seed: int = 0) -> EventLog:
    """Every event of a seeded random subset of ``log``'s users (anonymous rows grouped by
    session, rows without either on their own), the subset grown in a random order up to the
    last user that keeps the total at most ``max_events`` (at least one user)."""
    n = len(log.items)
    if n <= max_events:
        return log
    users = np.asarray(log.users, dtype=np.int64)
    sessions = np.asarray(log.sessions, dtype=np.int64)
    # one group per user, then per anonymous session, then per row with neither
    group = users.copy()
    anonymous = users < 0
    group[anonymous & (sessions >= 0)] = log.n_users + sessions[anonymous & (sessions >= 0)]
    loose = anonymous & (sessions < 0)
    group[loose] = log.n_users + int(sessions.max(initial=-1)) + 1 + np.arange(int(loose.sum()))
    codes, inverse, sizes = np.unique(group, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(codes))
    total = np.cumsum(sizes[order])
    take = max(int(np.searchsorted(total, max_events, side="right")), 1)
    chosen = np.zeros(len(codes), dtype=bool)
    chosen[order[:take]] = True
    keep = chosen[inverse.reshape(-1)]
    kept_users = users[keep]
    known = np.unique(kept_users[kept_users >= 0])
    renumber = np.full(max(log.n_users, 1), -1, dtype=np.int64)
    renumber[known] = np.arange(len(known))
    return replace(
        log,
        users=np.where(kept_users >= 0, renumber[np.maximum(kept_users, 0)], -1),
        items=log.items[keep],
        kinds=log.kinds[keep],
        timestamps=log.timestamps[keep],
        sessions=log.sessions[keep],
        n_users=len(known),
    )
