"""Portrait engine: known answers on small hand-built arrays (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.portrait import (
    DAY,
    RFM,
    PortraitParams,
    SegmentThresholds,
    SubjectEvents,
    activity,
    affinities,
    build_portrait,
    count_sessions,
    next_categories,
    price_position,
    quintile,
    rfm_breakpoints,
    search_terms,
    segment,
)

# 2024-01-01 00:00 UTC, a Monday
MONDAY = 1704067200.0
NOW = MONDAY + 10 * DAY
WEIGHTS = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0, "search": 0.0}


def events(rows: list[dict]) -> SubjectEvents:
    def col(name, default, dtype):
        return np.array([r.get(name, default) for r in rows], dtype=dtype)

    return SubjectEvents(
        kinds=col("kind", "view", str),
        timestamps=col("t", NOW, np.float64),
        categories=col("cat", -1, np.int64),
        brands=col("brand", -1, np.int64),
        prices=col("price", np.nan, np.float64),
        quantities=col("qty", 1.0, np.float64),
        devices=col("device", "", str),
        queries=col("query", "", str),
        orders=col("order", "", str),
    )


def test_affinity_weights_kinds_and_halves_per_half_life() -> None:
    # category 0: one view now (1.0); category 1: one purchase a half-life ago (5 * 0.5 = 2.5)
    ev = events(
        [
            {"kind": "view", "cat": 0, "t": NOW},
            {"kind": "purchase", "cat": 1, "t": NOW - 30 * DAY, "price": 10.0},
        ]
    )
    result = build_portrait(ev, PortraitParams(now=NOW, weights=WEIGHTS, half_life_days=30.0))
    np.testing.assert_array_equal(result.category_codes, [1, 0])
    np.testing.assert_allclose(result.category_scores, [1.0, 1.0 / 2.5])


def test_affinity_rolls_leaf_credit_up_to_ancestors() -> None:
    # 0 is the parent of 1 and 2
    parents = np.array([-1, 0, 0])
    codes, scores = affinities(np.array([1, 2, 2]), np.array([1.0, 1.0, 1.0]), 10, parents)
    np.testing.assert_array_equal(codes, [0, 2, 1])
    np.testing.assert_allclose(scores, [1.0, 2.0 / 3.0, 1.0 / 3.0])


def test_negative_weights_and_unknown_codes_give_no_affinity() -> None:
    codes, _ = affinities(np.array([-1, 3]), np.array([5.0, -1.0]), 10)
    assert codes.size == 0


def test_price_band_and_purchasing_power_against_catalogue_quantiles() -> None:
    catalogue = np.arange(1.0, 101.0)  # 1..100
    # one purchase at 90 (weight 4) and one view at 10 (weight 1)
    band, power, median = price_position(np.array([90.0, 10.0]), np.array(["purchase", "view"]), catalogue)
    assert median == 90.0
    assert band == "luxury"
    np.testing.assert_allclose(power, (4 * 0.895 + 1 * 0.095) / 5)
    band, _, _ = price_position(np.array([10.0]), np.array(["view"]), catalogue)
    assert band == "budget"
    assert price_position(np.array([np.nan]), np.array(["view"]), catalogue) == (None, None, None)


def test_rfm_counts_orders_revenue_and_scores_quintiles() -> None:
    ev = events(
        [
            {"kind": "purchase", "t": NOW - 2 * DAY, "price": 10.0, "qty": 2, "order": "a"},
            {"kind": "purchase", "t": NOW - 2 * DAY, "price": 5.0, "qty": 1, "order": "a"},
            {"kind": "purchase", "t": NOW - 5 * DAY, "price": 100.0, "qty": 1, "order": "b"},
            {"kind": "purchase", "t": NOW - 400 * DAY, "price": 999.0, "qty": 1, "order": "old"},
            {"kind": "view", "t": NOW},
        ]
    )
    result = build_portrait(ev, PortraitParams(now=NOW, weights=WEIGHTS))
    assert result.rfm == RFM(recency_days=2.0, frequency=2, monetary=125.0, r=5, f=3, m=2)
    assert result.lifetime_value == 1124.0  # lifetime value ignores the RFM window


def test_quintile_scores_and_population_breakpoints() -> None:
    cuts = np.array([10.0, 20.0, 30.0, 40.0])
    assert [quintile(v, cuts) for v in (0, 10, 25, 40, 99)] == [1, 2, 3, 5, 5]
    assert [quintile(v, cuts, lower_is_better=True) for v in (0, 10, 25, 40, 99)] == [5, 5, 3, 2, 1]
    bp = rfm_breakpoints(np.arange(10.0), np.arange(10.0), np.array([np.nan] * 3))
    np.testing.assert_allclose(bp["recency"], np.quantile(np.arange(10.0), [0.2, 0.4, 0.6, 0.8]))
    assert bp["monetary"].tolist() == [50.0, 150.0, 400.0, 1000.0]  # too few: defaults


@pytest.mark.parametrize(
    ("first_days", "last_days", "orders", "money", "expected"),
    [
        (200, 130, 5, 9999.0, "churned"),
        (200, 50, 5, 9999.0, "at_risk"),
        (200, 1, 1, 600.0, "big_spender"),
        (200, 1, 3, 100.0, "loyal"),
        (5, 1, 0, 0.0, "new"),
        (60, 1, 1, 10.0, "active"),
    ],
)
def test_segment_rules_in_order(first_days, last_days, orders, money, expected) -> None:
    scores = RFM(None, orders, money, 0, 0, 0)
    thresholds = SegmentThresholds(
        churned_days=120, at_risk_days=45, big_spender_monetary=500, loyal_orders=3, new_days=14
    )
    got = segment(
        now=NOW,
        first_seen=NOW - first_days * DAY,
        last_seen=NOW - last_days * DAY,
        scores=scores,
        thresholds=thresholds,
    )
    assert got == expected


def test_segment_thresholds_are_parameters() -> None:
    scores = RFM(1.0, 2, 50.0, 5, 2, 1)
    kwargs = {"now": NOW, "first_seen": NOW - 90 * DAY, "last_seen": NOW - 20 * DAY, "scores": scores}
    assert segment(**kwargs, thresholds=SegmentThresholds()) == "active"
    assert segment(**kwargs, thresholds=SegmentThresholds(at_risk_days=10)) == "at_risk"
    assert segment(**kwargs, thresholds=SegmentThresholds(loyal_orders=2)) == "loyal"


def test_sessions_cut_after_the_gap() -> None:
    stamps = np.array([0.0, 100.0, 1900.0 + 100.0, 5000.0, 5000.0 + 1800.0])
    assert count_sessions(stamps, 1800.0) == 3
    assert count_sessions(np.empty(0), 1800.0) == 0


def test_activity_histograms_and_daily_bins() -> None:
    stamps = np.array([MONDAY + 3600 * 9, MONDAY + DAY + 3600 * 9.5, MONDAY + 6 * DAY + 3600 * 23])
    hours, weekdays, daily = activity(stamps, now=MONDAY + 6 * DAY + 100, days=7)
    assert hours[9] == 2
    assert hours[23] == 1
    assert weekdays.tolist() == [1, 1, 0, 0, 0, 0, 1]
    assert daily.tolist() == [1, 1, 0, 0, 0, 0, 1]
    # a +2h offset moves 23:00 Sunday to 01:00 Monday, outside the 7-day window ending Sunday
    hours, weekdays, _ = activity(stamps[2:], now=MONDAY, days=7, utc_offset=7200)
    assert hours[1] == 1
    assert weekdays[0] == 1


def test_search_terms_are_normalised_and_ranked() -> None:
    terms = search_terms(np.array(["Tent ", "tent", "  stove", "", "lamp", "Stove"]), 2)
    assert terms == [("stove", 2), ("tent", 2)]


def test_next_categories_follow_own_transitions_blended_with_affinity() -> None:
    # sequence 0 -> 1 -> 0 -> 2 -> 0 : after 0 came 1 once and 2 once; last is 0
    cats = np.array([0, 1, 0, 2, 0])
    stamps = np.arange(5.0)
    codes, scores = next_categories(cats, stamps, np.array([0]), np.array([1.0]), alpha=0.6, top_n=5)
    np.testing.assert_array_equal(codes, [0, 1, 2])
    np.testing.assert_allclose(scores, [0.4, 0.3, 0.3])
    # a pseudo-count of 2 shrinks the two observed transitions to a share of 0.6 * 2 / 4 = 0.3
    codes, scores = next_categories(
        cats, stamps, np.array([0]), np.array([1.0]), alpha=0.6, top_n=5, prior=2.0
    )
    np.testing.assert_array_equal(codes, [0, 1, 2])
    np.testing.assert_allclose(scores, [0.7, 0.15, 0.15])
    # no transitions out of the last category: all weight goes to affinity
    codes, scores = next_categories(
        np.array([1, 1]), np.arange(2.0), np.array([3, 1]), np.array([1.0, 1.0]), 0.6, 5
    )
    np.testing.assert_array_equal(codes, [1, 3])
    np.testing.assert_allclose(scores, [0.5, 0.5])


def test_full_portrait_devices_terms_and_is_deterministic() -> None:
    rows = [
        {"kind": "search", "query": "Tent", "t": NOW - 2 * DAY, "device": "mobile"},
        {"kind": "view", "cat": 4, "brand": 7, "price": 50.0, "t": NOW - 2 * DAY + 60, "device": "mobile"},
        {"kind": "add_to_cart", "cat": 4, "brand": 7, "price": 50.0, "t": NOW - DAY, "device": "desktop"},
        {"kind": "purchase", "cat": 4, "brand": 7, "price": 50.0, "order": "x", "t": NOW - DAY + 5},
    ]
    params = PortraitParams(now=NOW, weights=WEIGHTS, catalogue_prices=np.array([10.0, 50.0, 90.0]))
    first = build_portrait(events(rows), params)
    second = build_portrait(events(rows[::-1]), params)
    assert first.devices == {"desktop": 1, "mobile": 2}
    assert first.kinds == {"add_to_cart": 1, "purchase": 1, "search": 1, "view": 1}
    assert first.search_terms == [("tent", 1)]
    assert first.sessions == 2
    assert first.brand_codes.tolist() == [7]
    assert first.price_band == "mid"
    assert first.segment == "new"
    assert first.last_seen == NOW - DAY + 5
    assert first.daily.sum() == 4
    for name in ("category_scores", "brand_scores", "hours", "weekdays", "daily", "next_category_scores"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))


def test_empty_subject_gives_an_empty_new_portrait() -> None:
    result = build_portrait(SubjectEvents.empty(), PortraitParams(now=NOW, weights=WEIGHTS))
    assert result.n_events == 0
    assert result.segment == "new"
    assert result.sessions == 0
    assert result.category_codes.size == 0
    assert result.rfm.r == 0


def test_mismatched_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="timestamps"):
        SubjectEvents(
            kinds=np.array(["view"]),
            timestamps=np.empty(0),
            categories=np.array([0]),
            brands=np.array([0]),
            prices=np.array([1.0]),
            quantities=np.array([1.0]),
            devices=np.array([""]),
            queries=np.array([""]),
            orders=np.array([""]),
        )
