"""The self-evaluation decides whether a known user's list re-shows what they touched.

Two small synthetic shops, seeded: one where shoppers buy consumables again on their cycle and
come back to products they viewed or carted without buying, one where nobody ever touches an
item twice. The holdout must choose re-showing on the first and never on the second.
"""

import numpy as np
import pytest

from recommendations.engine import selection
from recommendations.engine.base import EventLog
from recommendations.engine.interactions import build_matrix
from recommendations.engine.reshow import Reshow, choose_reshow
from recommendations.engine.selection import blend_ndcg

DAY = 86400.0
KINDS = ("view", "add_to_cart", "purchase")
WEIGHTS = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}


def _log(rows: list[tuple[int, int, int, float, int]], n_items: int) -> EventLog:
    users, items, kinds, stamps, sessions = (np.asarray(c) for c in zip(*rows, strict=True))
    return EventLog(
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        kinds=kinds.astype(np.int16),
        timestamps=stamps.astype(np.float64),
        sessions=sessions.astype(np.int64),
        kind_names=KINDS,
        n_users=int(users.max()) + 1,
        n_items=n_items,
    )


def repeat_shop(seed: int = 0, n_users: int = 500, n_items: int = 210, groups: int = 6) -> EventLog:
    """Each shopper buys two consumables (items 0-29) on their own cycle (every 20 to 40 days,
    give or take two), browses durables of their taste group (items 30+) and buys some, each
    once; many visits come back to an item they viewed or carted before without buying it."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, float, int]] = []
    session = 0
    durables = np.arange(30, n_items)
    for u in range(n_users):
        begin = float(rng.uniform(0, 20)) * DAY
        end = begin + 120 * DAY
        for item in rng.choice(30, size=2, replace=False).tolist():
            period = float(rng.uniform(20, 40)) * DAY
            t = begin + float(rng.uniform(0, period))
            while t < end:
                session += 1
                rows.append((u, item, 2, t, session))
                t += period + float(rng.normal(0, 2)) * DAY
        liked = durables[durables % groups == u % groups]
        pending: list[int] = []
        owned: set[int] = set()  # a durable is bought once
        t = begin
        while True:
            t += float(rng.uniform(8, 16)) * DAY
            if t >= end:
                break
            session += 1
            if pending and rng.random() < 0.4:  # back to something viewed before, bought now
                item = pending.pop(int(rng.integers(len(pending))))
                rows += [(u, item, 0, t, session), (u, item, 2, t + 120, session)]
                owned.add(item)
            else:  # browse new things of their taste, cart the first, buy nothing
                fresh = np.setdiff1d(liked, [*pending, *owned])
                first, second = rng.choice(fresh, size=2, replace=False).tolist()
                rows += [
                    (u, first, 0, t, session),
                    (u, first, 1, t + 20, session),
                    (u, second, 0, t + 60, session),
                ]
                pending += [first, second]
    return _log(rows, n_items)


def fresh_shop(seed: int = 0, n_users: int = 300, n_items: int = 400, groups: int = 6) -> EventLog:
    """Long-term taste and nothing touched twice: every event is an item new to the shopper."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, float, int]] = []
    items = np.arange(n_items)
    for u in range(n_users):
        liked = items[items % groups == u % groups]
        t = float(rng.uniform(0, 20)) * DAY
        for j, item in enumerate(rng.choice(liked, size=10, replace=False).tolist()):
            t += float(rng.uniform(1, 5)) * DAY
            rows.append((u, item, 2 if j % 3 == 2 else 0, t, u * 100 + j))
    return _log(rows, n_items)


def _settings(**kw) -> selection.Settings:
    return selection.Settings(
        **{
            "only": ("popularity", "itemknn"),
            "max_queries": 100,
            "min_queries": 50,
            "budget_seconds": 0.0,
            "contexts": ("user",),
            **kw,
        }
    )


def _select(log: EventLog, **kw) -> selection.ContextChoice:
    return selection.select(log, lambda sub: build_matrix(sub, WEIGHTS), _settings(**kw)).contexts["user"]


def test_the_holdout_chooses_re_showing_where_shoppers_come_back():
    user = _select(repeat_shop())
    assert user.reshow, user.reason
    assert set(user.reshow) <= {"buy_again", "browsed"}
    after, before = user.metrics["with_reshow"], user.metrics["without_reshow"]
    assert after["objective"] > before["objective"] * 1.2, user.reason
    assert after["recent"] > before["recent"]


def test_the_holdout_never_re_shows_where_nothing_is_touched_twice():
    user = _select(fresh_shop())
    assert user.reshow == {}, user.reason
    assert user.metrics["with_reshow"] == user.metrics["without_reshow"]


def test_the_choice_is_deterministic():
    first, second = _select(repeat_shop(seed=3)), _select(repeat_shop(seed=3))
    assert first.reshow == second.reshow
    assert first.metrics["with_reshow"] == pytest.approx(second.metrics["with_reshow"])


def test_re_showing_can_be_switched_off():
    user = _select(repeat_shop(), reshow=False)
    assert user.reshow == {}
    assert "with_reshow" not in user.metrics


def test_a_split_that_re_showing_hurts_keeps_the_weights_at_zero():
    """Seen items that are never targets only push the targets down: weights stay 0."""
    import scipy.sparse as sp

    n_queries, n_items = 200, 30
    base = sp.csr_matrix(np.tile(np.linspace(1.0, 0.1, n_items), (n_queries, 1)))
    seen = sp.csr_matrix(
        ([1.0] * n_queries, (np.arange(n_queries), np.full(n_queries, 29))), (n_queries, n_items)
    )
    targets = [np.asarray([0])] * n_queries
    found: Reshow = choose_reshow(
        {"recent": [(base, 1.0)]},
        {"recent": {"browsed": seen, "buy_again": sp.csr_matrix((n_queries, n_items))}},
        {"recent": targets},
        lambda lists, t: blend_ndcg(lists, t, 10),
    )
    assert found.weights == {"buy_again": 0.0, "browsed": 0.0}
    assert found.after == found.before
