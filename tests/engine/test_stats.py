"""Experiment statistics and ad maths against hand-computed examples (no database)."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats as st

from recommendations.engine import ads, stats


def test_two_proportion_ztest_worked_example():
    # 200/1000 vs 250/1000: pooled p = 450/2000 = 0.225
    pooled = 450 / 2000
    se = math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 1000))
    z_by_hand = (0.25 - 0.20) / se
    p_by_hand = math.erfc(abs(z_by_hand) / math.sqrt(2))
    result = stats.two_proportion_ztest(200, 1000, 250, 1000)
    assert result.z == pytest.approx(z_by_hand)
    assert result.z == pytest.approx(2.68, abs=0.005)
    assert result.p_value == pytest.approx(p_by_hand)
    assert result.p_value == pytest.approx(0.0074, abs=0.00005)
    # unpooled 95% interval of the difference
    se_unpooled = math.sqrt(0.2 * 0.8 / 1000 + 0.25 * 0.75 / 1000)
    assert result.ci_low == pytest.approx(0.05 - 1.959964 * se_unpooled, abs=1e-6)
    assert result.ci_high == pytest.approx(0.05 + 1.959964 * se_unpooled, abs=1e-6)
    assert result.relative_lift == pytest.approx(0.25)


def test_ztest_is_symmetric_and_null_when_equal():
    forward = stats.two_proportion_ztest(30, 500, 45, 600)
    backward = stats.two_proportion_ztest(45, 600, 30, 500)
    assert forward.z == pytest.approx(-backward.z)
    assert forward.p_value == pytest.approx(backward.p_value)
    same = stats.two_proportion_ztest(50, 1000, 50, 1000)
    assert same.z == 0 and same.p_value == pytest.approx(1.0)
    assert math.isnan(stats.two_proportion_ztest(0, 0, 1, 10).z)


def test_wilson_interval_known_value():
    low, high = stats.wilson_interval(10, 100)
    # Wilson 95% for 10/100 (z = 1.96): 0.0552 .. 0.1744
    assert low == pytest.approx(0.0552, abs=5e-4)
    assert high == pytest.approx(0.1744, abs=5e-4)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    assert stats.wilson_interval(0, 50)[0] == pytest.approx(0.0, abs=1e-12)


def test_welch_matches_scipy():
    rng = np.random.default_rng(7)
    a = rng.exponential(10.0, 400)
    b = rng.exponential(12.0, 300)
    result = stats.welch_ttest(a, b)
    reference = st.ttest_ind(b, a, equal_var=False)
    assert result.t == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.ci_low < result.diff < result.ci_high
    assert result.diff == pytest.approx(b.mean() - a.mean())


def test_beta_smoothing_and_chi_square():
    assert_allclose(
        stats.beta_smoothed_rate(np.array([0, 50]), np.array([0, 100]), 1.0, 99.0), [0.01, 51 / 200]
    )
    assert stats.chi_square_balance(np.array([5000, 5000]), np.array([1, 1])) == pytest.approx(1.0)
    assert stats.chi_square_balance(np.array([6000, 4000]), np.array([1, 1])) < 1e-10


def test_expected_value_ranking():
    ctr = np.array([0.01, 0.255, 0.02])
    bid = np.array([1_000_000, 500_000, 5_000_000])  # CPC 1.00, CPC 0.50, CPM 5.00
    is_cpm = np.array([False, False, True])
    assert_allclose(ads.expected_value(ctr, bid, is_cpm), [10_000, 127_500, 5_000])
    assert ads.rank(ctr, bid, is_cpm).tolist() == [1, 0, 2]
    assert ads.rank(ctr, bid, is_cpm, "ctr").tolist() == [1, 2, 0]
    assert ads.rank(ctr, bid, is_cpm, "bid").tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="policy"):
        ads.rank(ctr, bid, is_cpm, "nope")


def test_predicted_ctr_affinity_lift_and_costs():
    base = ads.predicted_ctr(
        np.array([0]), np.array([0]), np.array([0.0]), prior=(1, 99), affinity_weight=1.0
    )
    lifted = ads.predicted_ctr(
        np.array([0]), np.array([0]), np.array([1.0]), prior=(1, 99), affinity_weight=1.0
    )
    assert base[0] == pytest.approx(0.01) and lifted[0] == pytest.approx(0.02)
    assert ads.cost_per_impression_micros(2_500_000, True) == 2_500
    assert ads.cost_per_impression_micros(1_001, True) == 2  # rounded up: never under-charged
    assert ads.cost_per_impression_micros(2_500_000, False) == 0
    assert ads.category_affinity({"a": 4.0, "b": 2.0}, {"b"}) == pytest.approx(0.5)
    assert ads.category_affinity({}, {"b"}) == 0.0


def test_pacing_allowance():
    daily = 10_000_000
    assert ads.paced_allowance_micros(daily, 0.0, 0.1) == 1_000_000
    assert ads.paced_allowance_micros(daily, 0.25, 0.1) == 3_500_000
    assert ads.paced_allowance_micros(daily, 0.95, 0.1) == daily  # never above the daily budget
    assert ads.paced_allowance_micros(daily, 0.5, 0.0) == 5_000_000
