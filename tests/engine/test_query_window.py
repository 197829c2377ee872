"""Sequence models for known users are queried with the recent part of the history that matches
how they were trained (short sessions), when the shop's own holdout says it is better."""

import numpy as np

from recommendations.engine import selection
from recommendations.engine.base import EventLog
from recommendations.engine.interactions import build_matrix
from recommendations.engine.session import MAX_QUERY, Sessions, query_window


def _log(users, items, stamps, sessions, n_items) -> EventLog:
    users = np.asarray(users, np.int64)
    return EventLog(
        users=users,
        items=np.asarray(items, np.int64),
        kinds=np.zeros(len(users), np.int16),
        timestamps=np.asarray(stamps, np.float64),
        sessions=np.asarray(sessions, np.int64),
        kind_names=("view",),
        n_users=int(users.max()) + 1,
        n_items=n_items,
    )


def shop(seed: int = 0, n_users: int = 300) -> EventLog:
    """Short sessions. Early, anonymous visitors walk chains (c, c+1, c+2) of the items 100-299;
    later, known users browse popular items (0-99) at random over many sessions, and end with a
    chain. A query with a user's whole history shares items with so many recent browsing
    sessions that the older chain sessions, the only ones that tell what follows, are crowded
    out of the neighbours' sample; the last session alone finds them."""
    rng = np.random.default_rng(seed)
    users, items, stamps, sessions = [], [], [], []
    sid = 0

    def visit(user: int, walk: list[int], t: float) -> None:
        nonlocal sid
        sid += 1
        for j, item in enumerate(walk):
            users.append(user)
            items.append(item)
            stamps.append(t + j)
            sessions.append(sid)

    for _ in range(2000):
        c = int(rng.integers(100, 298))
        visit(-1, [c, c + 1, c + 2], float(rng.uniform(0, 1e5)))
    for u in range(n_users):
        t = 2e5 + float(rng.uniform(0, 1e4))
        for _ in range(12):
            visit(u, rng.choice(100, size=3, replace=False).tolist(), t)
            t += 1e3
        c = int(rng.integers(100, 298))
        visit(u, [c, c + 1, c + 2], t + 1e5)
    return _log(users, items, stamps, sessions, 300)


def _select(log: EventLog) -> selection.Selection:
    settings = selection.Settings(
        only=("stan",), max_queries=150, min_queries=50, budget_seconds=0.0, contexts=("user",), reshow=False
    )
    return selection.select(log, lambda sub: build_matrix(sub, {"view": 1.0}), settings)


def test_the_window_is_a_high_percentile_of_the_training_sessions_lengths():
    sessions = Sessions.from_lists([[1, 2]] * 90 + [[1, 2, 3, 4, 5, 6, 7]] * 10, n_items=10)
    assert query_window(sessions) == 7
    assert query_window(sessions, percentile=50) == 2
    assert query_window(Sessions.from_lists([list(range(200))], n_items=200)) == MAX_QUERY


def test_known_users_are_queried_with_their_last_session_where_it_wins():
    result = _select(shop())
    assert result.query_window == 3, result.notes
    assert any("newest 3 events" in note for note in result.notes)
    # and it is what the user context's metrics were scored with: the chain is found
    assert result.contexts["user"].metrics["stan"]["recent"] > 0.5


def test_the_whole_history_is_kept_where_the_window_does_not_win():
    """One long 'session' per user (no session ids): the window is the cap, nothing changes."""
    rng = np.random.default_rng(1)
    n_users, per_user = 300, 12
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate([rng.choice(60, size=per_user, replace=False) for _ in range(n_users)])
    log = _log(users, items, np.arange(len(users)), np.full(len(users), -1), 60)
    assert _select(log).query_window == MAX_QUERY
