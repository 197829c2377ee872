"""Re-showing is personal: in a shop where half the shoppers come back to what they viewed and
half never do, the holdout chooses re-showing, the shoppers who come back get their items again,
and the lists of those who never do stay as they were without re-showing."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.base import EventLog
from recommendations.engine.selection import Settings
from recommendations.offline import auto
from recommendations.offline.datasets import Dataset
from recommendations.offline.prepare import encode
from recommendations.offline.protocols import leave_last_out
from tests.offline.test_auto_reshow import raw

DAY = 86400.0
KINDS = ("view", "add_to_cart", "purchase")
WEIGHTS = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}


def mixed_shop(seed: int = 0, n_users: int = 400, n_items: int = 1200, groups: int = 6) -> EventLog:
    """Even users come back: a visit in two returns to a product they viewed or carted before and
    buys it. Odd users never do: every visit views new products of their taste and buys one of
    them at once. About ten visits each over 120 days, one session per visit."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, float, int]] = []
    session = 0
    items = np.arange(n_items)
    for u in range(n_users):
        liked = items[items % groups == u % groups]
        touched: set[int] = set()
        pending: list[int] = []
        t = float(rng.uniform(0, 10)) * DAY
        while True:
            t += float(rng.uniform(8, 16)) * DAY
            if t >= 130 * DAY:
                break
            session += 1
            if u % 2 == 0 and pending and rng.random() < 0.5:
                item = pending.pop(int(rng.integers(len(pending))))
                rows += [(u, item, 0, t, session), (u, item, 2, t + 120, session)]
                continue
            fresh = np.setdiff1d(liked, list(touched))
            first, second, third = rng.choice(fresh, size=3, replace=False).tolist()
            touched |= {first, second, third}
            rows += [
                (u, first, 0, t, session),
                (u, first, 1, t + 20, session),
                (u, second, 0, t + 60, session),
            ]
            if u % 2 == 0:
                pending += [first, second]
            else:  # buys the third at once, in the same visit, and never comes back to any
                rows += [(u, third, 0, t + 90, session), (u, third, 2, t + 200, session)]
    users, its, kinds, stamps, sessions = (np.asarray(c) for c in zip(*rows, strict=True))
    return EventLog(
        users=users.astype(np.int64),
        items=its.astype(np.int64),
        kinds=kinds.astype(np.int16),
        timestamps=stamps.astype(np.float64),
        sessions=sessions.astype(np.int64),
        kind_names=KINDS,
        n_users=n_users,
        n_items=n_items,
    )


@pytest.fixture
def quick(monkeypatch):
    settings = Settings(
        budget_seconds=0.0,
        max_queries=150,
        min_queries=50,
        only=("popularity", "itemknn"),
        contexts=("user", "session"),
        margin_se=0.0,  # the blend rule is not what this tests (see test_auto_reshow.py)
        # this small shop's random split (NDCG ~0.03) pays a large share for any item re-shown to
        # those who come back, more than the default tolerance lets it: the tolerance has its own
        # test (tests/engine/test_reshow_choice.py), this one is about who gets the re-shows
        reshow_tolerance=1.0,
    )
    monkeypatch.setattr(auto, "SETTINGS", settings)


def test_shoppers_who_come_back_get_their_items_again_and_the_others_keep_their_lists(quick):
    log = mixed_shop()
    task = leave_last_out(Dataset("mixed", raw(log), default_protocol="leave-last-out"))
    enc = encode(task.train, WEIGHTS)
    scorer = auto.AutoScorer().fit(enc.train)
    assert scorer.reshow, scorer.describe()
    assert "scaled per shopper" in scorer.describe()
    chosen = dict(scorer.reshow)
    reshown: dict[bool, list[bool]] = {True: [], False: []}
    unchanged: dict[bool, list[bool]] = {True: [], False: []}
    for case in task.cases:
        query = enc.query(case.items, case.timestamps, case.kinds, case.user)
        comes_back = int(case.user[1:]) % 2 == 0
        seen = enc.seen_items(query.row)
        items, _ = scorer.recommend(query, 10, None if not scorer.excludes_seen(query) else seen)
        scorer.reshow = {}  # the same fitted blend, never re-showing
        never, _ = scorer.recommend(query, 10, seen)
        scorer.reshow = chosen
        reshown[comes_back].append(bool(np.isin(items, seen).any()))
        unchanged[comes_back].append(items.tolist() == never.tolist())
    assert len(reshown[True]) > 100 and len(reshown[False]) > 100
    assert np.mean(reshown[True]) > 0.5, np.mean(reshown[True])
    # those who never came back: (almost) nothing re-shown, their lists as without re-showing
    # (with one weight for every shopper, as before, all of them got re-shows: 100 %, 0 % unchanged)
    assert np.mean(reshown[False]) < 0.1, np.mean(reshown[False])
    assert np.mean(unchanged[False]) > 0.9, np.mean(unchanged[False])
