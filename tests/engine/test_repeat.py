"""Repeat-purchase model, browsed-not-bought source and the holdout choice of their weights,
on synthetic orders generated here (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.base import top_k
from recommendations.engine.repeat import DAY, RepeatModel, reason
from recommendations.engine.reshow import ValidationCase, browsed, choose_weights, merge

CONSUMABLE, DURABLE, NEW_IN_CONSUMABLES, NEW_IN_DURABLES, WEEKLY = 0, 1, 2, 3, 4
CATEGORY = np.array([0, 1, 0, 1, 0])  # 0: consumables, 1: durables


def _orders(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """40 buyers: item 0 rebought every ~30 days, item 1 bought once, item 4 every ~7 days;
    items 2 and 3 bought once by one buyer each."""
    rng = np.random.default_rng(seed)
    users, items, stamps = [], [], []
    for user in range(40):
        start = rng.uniform(0, 10) * DAY
        for n in range(4):  # every 30 days +- 2
            users.append(user)
            items.append(CONSUMABLE)
            stamps.append(start + n * 30 * DAY + rng.normal(0, 2) * DAY)
        users.append(user)
        items.append(DURABLE)
        stamps.append(start + 5 * DAY)
        if user < 10:
            for n in range(6):
                users.append(user)
                items.append(WEEKLY)
                stamps.append(start + n * 7 * DAY + rng.normal(0, 0.5) * DAY)
    users += [100, 101]
    items += [NEW_IN_CONSUMABLES, NEW_IN_DURABLES]
    stamps += [3 * DAY, 3 * DAY]
    return np.array(users), np.array(items), np.array(stamps)


@pytest.fixture(scope="module")
def model() -> RepeatModel:
    users, items, stamps = _orders()
    return RepeatModel().fit(users, items, stamps, n_items=5, item_category=CATEGORY)


def test_rates_separate_consumables_from_durables(model: RepeatModel) -> None:
    assert model.rate[CONSUMABLE] > 0.8
    assert model.rate[DURABLE] < 0.1
    assert model.durable()[DURABLE] and not model.durable()[CONSUMABLE]


def test_an_item_bought_once_inherits_its_category_habit(model: RepeatModel) -> None:
    assert model.rate[NEW_IN_CONSUMABLES] > 5 * model.rate[NEW_IN_DURABLES]
    assert model.durable()[NEW_IN_DURABLES]


def test_intervals_are_learned_per_item(model: RepeatModel) -> None:
    assert model.interval_days(CONSUMABLE) == pytest.approx(30, rel=0.1)
    assert model.interval_days(WEEKLY) == pytest.approx(7, rel=0.15)
    assert model.log_sigma[CONSUMABLE] < 0.3  # +-2 days around 30 is a tight rhythm


def test_duplicate_rows_of_one_purchase_count_once() -> None:
    users = np.array([0, 0, 1])
    items = np.array([0, 0, 0])
    stamps = np.array([0.0, 60.0, 0.0])  # one order line recorded twice a minute apart
    fitted = RepeatModel().fit(users, items, stamps, n_items=1)
    assert fitted.repeaters[0] == 0 and fitted.buyers[0] == 2


def test_due_peaks_near_the_expected_next_purchase(model: RepeatModel) -> None:
    bought = np.array([CONSUMABLE, CONSUMABLE])
    stamps = np.array([0.0, 30 * DAY])

    def score(days_after_last: float) -> float:
        due = model.due(bought, stamps, now=30 * DAY + days_after_last * DAY)
        return float(due.dense(5)[CONSUMABLE])

    assert score(30) > 0.8
    assert score(30) > score(20) > score(5)
    assert score(40) > score(20)  # late is still due, early is not yet
    assert score(400) < 0.01  # stopped buying it


def test_due_follows_the_shoppers_own_rhythm(model: RepeatModel) -> None:
    # this shopper buys the 30-day product every 10 days
    stamps = np.array([0.0, 10.0, 20.0, 30.0]) * DAY
    bought = np.full(4, CONSUMABLE)
    due_now = model.due(bought, stamps, now=40 * DAY)
    later = model.due(bought, stamps, now=60 * DAY)
    assert due_now.dense(5)[CONSUMABLE] > later.dense(5)[CONSUMABLE]
    assert due_now.own_rhythm[0]
    assert 10 <= due_now.interval_days[0] < 20


def test_durables_are_never_due(model: RepeatModel) -> None:
    due = model.due(np.array([DURABLE, CONSUMABLE]), np.array([0.0, 0.0]), now=30 * DAY)
    assert DURABLE not in due.items.tolist()
    assert due.items.tolist() == [CONSUMABLE]


def test_reason_texts() -> None:
    assert reason(30.2, True) == "You buy this about every 30 days"
    assert reason(7, False) == "Shoppers buy this again about every 7 days"
    assert reason(95, True) == "You buy this about every 3 months"
    assert reason(0.5, True) == "You buy this about every day"


def test_browsed_weighs_intent_and_recency() -> None:
    now = 100 * DAY
    items = np.array([0, 1, 2, 3, 3])
    kinds = ["view", "add_to_cart", "view", "add_to_cart", "purchase"]
    stamps = np.array([now - DAY, now - DAY, now - 30 * DAY, now - 2 * DAY, now - DAY])
    result = browsed(items, kinds, stamps, now, n_items=5, half_life_seconds=7 * DAY)
    assert result.scores[1] > result.scores[0] > result.scores[2] > 0  # cart > view > old view
    assert result.scores[3] == 0  # carted, then bought: not "browsed, not bought"
    assert result.scores[4] == 0
    assert result.strongest[1] == "add_to_cart" and result.strongest[0] == "view"


def test_browsing_again_after_a_purchase_counts() -> None:
    result = browsed(np.array([0, 0]), ["purchase", "view"], np.array([0.0, DAY]), 2 * DAY, n_items=1)
    assert result.scores[0] > 0


def test_merge_with_zero_weights_is_the_old_exclusion() -> None:
    base = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    seen = np.array([0, 3])
    out = merge(base, seen, {"browsed": np.array([1.0, 0, 0, 0.5, 0])}, {"browsed": 0.0})
    assert top_k(out, 5).tolist() == [1, 2, 4]


def test_merge_places_seen_items_by_the_seen_sources_only() -> None:
    base = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    seen = np.array([0, 3, 4])
    source = np.array([0.0, 0.0, 0.0, 1.0, 0.0])  # vouches for 3 only
    out = merge(base, seen, {"browsed": source}, {"browsed": 0.75}, exclude=np.array([2]))
    # 3 placed by weight x 1.0; 0 and 4 seen without support: out; 2 excluded
    assert top_k(out, 5).tolist() == [1, 3]


def _cases(rng: np.random.Generator, n: int, target_is_browsed: float) -> list[ValidationCase]:
    cases = []
    for _ in range(n):
        base = rng.random(50)
        seen = rng.choice(50, size=5, replace=False)
        source = np.zeros(50)
        source[seen] = rng.random(5) + 0.01
        if rng.random() < target_is_browsed:
            target = int(seen[np.argmax(source[seen])])
        else:
            target = int(rng.choice(np.setdiff1d(np.arange(50), seen)))
        cases.append(ValidationCase(base=base, seen=seen, sources={"browsed": source}, target=target))
    return cases


def test_the_holdout_chooses_a_weight_when_shoppers_come_back() -> None:
    choice = choose_weights(_cases(np.random.default_rng(1), 300, 0.5), ["browsed"])
    assert choice.weights["browsed"] > 0
    assert choice.ndcg > choice.baseline_ndcg + 0.2


def test_the_holdout_keeps_seen_items_out_when_nobody_comes_back() -> None:
    choice = choose_weights(_cases(np.random.default_rng(2), 300, 0.0), ["browsed"])
    assert choice.weights == {"browsed": 0.0}
    assert choice.ndcg == choice.baseline_ndcg


def test_no_validation_case_means_no_reshow() -> None:
    assert choose_weights([], ["browsed", "buy_again"]).weights == {"browsed": 0.0, "buy_again": 0.0}


def test_enough_buyers_who_never_came_back_make_a_durable_whatever_the_shop_habit() -> None:
    """No categories: consumables pull the shop's repeat rate up; an item 15 buyers bought once
    each is still a durable (its own rate), one bought once by 2 buyers is left to the prior."""
    users, items, stamps = [], [], []
    for u in range(40):
        for n in range(4):  # item 0: everyone buys it again and again
            users.append(u)
            items.append(0)
            stamps.append(n * 30 * DAY)
    for u in range(15):  # item 1: 15 buyers, once each
        users.append(u)
        items.append(1)
        stamps.append(5 * DAY)
    for u in range(2):  # item 2: 2 buyers, once each
        users.append(u)
        items.append(2)
        stamps.append(5 * DAY)
    model = RepeatModel().fit(np.asarray(users), np.asarray(items), np.asarray(stamps), n_items=3)
    assert model.shop_rate > 0.5
    assert model.durable().tolist() == [False, True, False]
    assert model.due(np.asarray([1]), np.asarray([5 * DAY]), 40 * DAY).items.size == 0
