"""How much a shopper comes back to items they touched (engine.comebacks): visits, the shop's
rate, and the per-shopper factor that scales re-show weights."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.comebacks import VISIT_GAP_SECONDS, Comebacks, visits

HOUR = 3600.0


def test_a_visit_comes_back_when_it_touches_an_item_of_an_earlier_visit():
    # user 0: visit 1 items 1, 2; visit 2 item 1 (back); visit 3 item 3 (new). user 5: one visit
    # re-clicking item 7 (within a visit: not a comeback)
    users = np.array([0, 0, 0, 0, 5, 5, 0])
    items = np.array([1, 2, 1, 3, 7, 7, 1])
    stamps = np.array([0, 10, 2 * HOUR, 5 * HOUR, 0, 20, 2 * HOUR + 5])
    ids, returns, chances = visits(users, items, stamps)
    assert ids.tolist() == [0, 5]
    assert returns.tolist() == [1, 0]
    assert chances.tolist() == [2, 0]


def test_session_ids_cut_visits_where_the_log_has_them():
    items = np.array([1, 2, 1])
    stamps = np.array([0.0, 3 * HOUR, 6 * HOUR])  # far apart, but one session
    _, returns, chances = visits(np.zeros(3, np.int64), items, stamps, np.array([4, 4, 4]))
    assert (returns.tolist(), chances.tolist()) == ([0], [0])
    # the same events in two sessions a minute apart: two visits, the second comes back
    stamps = np.array([0.0, 30.0, 60.0])
    _, returns, chances = visits(np.zeros(3, np.int64), items, stamps, np.array([4, 4, 9]))
    assert (returns.tolist(), chances.tolist()) == ([1], [1])
    # unknown sessions (-1): the time gap cuts
    stamps = np.array([0.0, 30.0, 30.0 + VISIT_GAP_SECONDS + 1])
    _, returns, chances = visits(np.zeros(3, np.int64), items, stamps, np.full(3, -1))
    assert (returns.tolist(), chances.tolist()) == ([1], [1])


def test_the_factor_is_the_shoppers_rate_shrunk_to_the_shops_over_the_shops_capped_at_one():
    shop = Comebacks(rate=0.4, prior=2.0)
    assert shop.factor(0, 0) == pytest.approx(1.0)  # no later visit yet: the shop's weights
    assert shop.factor(5, 5) == 1.0  # came back every time: capped
    assert shop.factor(0, 18) == pytest.approx(2 / 20)  # many visits, never back: almost nothing
    assert shop.factor(0, 18) < shop.factor(1, 18) < shop.factor(0, 1) < 1.0
    assert Comebacks(rate=0.0).factor(3, 3) == 0.0  # a shop whose visits never come back


def test_the_shops_rate_counts_known_users_only():
    users = np.array([0, 0, -1, -1])
    items = np.array([1, 1, 2, 2])
    stamps = np.array([0.0, 2 * HOUR, 0.0, 2 * HOUR])
    found = Comebacks.of(users, items, stamps)
    assert found.rate == 1.0
    assert found.of_events(np.array([1, 2]), np.array([0.0, 2 * HOUR])) == pytest.approx(2 / 3)
    assert Comebacks.of(users[2:], items[2:], stamps[2:]).rate == 0.0


def test_the_touching_kinds_are_the_browsing_intent_and_purchases():
    from recommendations.engine.comebacks import TOUCH_KINDS
    from recommendations.engine.reshow import DEFAULT_INTENT

    assert set(TOUCH_KINDS) == {*DEFAULT_INTENT, "purchase"}
