"""Statistics for A/B experiments: proportions and means, with tests and confidence intervals.

Pure numpy/scipy. All tests are two-sided; intervals are for the given confidence level.
A fixed-horizon test is only valid when read once, at the planned sample size: checking it
repeatedly and stopping at the first "significant" reading inflates the false-positive rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st


@dataclass(frozen=True)
class ProportionTest:
    """Two-proportion z-test of ``b`` against ``a`` (``diff = p_b - p_a``)."""

    p_a: float
    p_b: float
    diff: float
    z: float
    p_value: float
    ci_low: float  # confidence interval of diff (unpooled Wald)
    ci_high: float

    @property
    def relative_lift(self) -> float:
        return self.diff / self.p_a if self.p_a > 0 else math.nan


@dataclass(frozen=True)
class MeanTest:
    """Welch's t-test of the mean of ``b`` against ``a`` (``diff = mean_b - mean_a``)."""

    mean_a: float
    mean_b: float
    diff: float
    t: float
    p_value: float
    ci_low: float
    ci_high: float


def _z_critical(confidence: float) -> float:
    return float(_st.norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of one proportion (well behaved near 0 and with few trials)."""
    if trials <= 0:
        return (0.0, 1.0)
    z = _z_critical(confidence)
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_ztest(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, confidence: float = 0.95
) -> ProportionTest:
    """Pooled two-proportion z-test; the interval of the difference uses the unpooled error.

    Worked example: 200/1000 vs 250/1000 -> pooled p = 0.225, SE = sqrt(0.225 * 0.775 * 2/1000)
    = 0.018675, z = 0.05 / 0.018675 = 2.677, two-sided p = 0.0074.
    """
    if trials_a <= 0 or trials_b <= 0:
        nan = math.nan
        return ProportionTest(nan, nan, nan, nan, nan, nan, nan)
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    diff = p_b - p_a
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if se_pooled == 0:
        z, p_value = 0.0, 1.0
    else:
        z = diff / se_pooled
        p_value = float(2.0 * _st.norm.sf(abs(z)))
    se = math.sqrt(p_a * (1 - p_a) / trials_a + p_b * (1 - p_b) / trials_b)
    half = _z_critical(confidence) * se
    return ProportionTest(p_a, p_b, diff, z, p_value, diff - half, diff + half)


def welch_ttest(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> MeanTest:
    """Welch's unequal-variance t-test of two samples (e.g. revenue per visitor, zeros included)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or b.size < 2:
        nan = math.nan
        mean_a = float(a.mean()) if a.size else nan
        mean_b = float(b.mean()) if b.size else nan
        return MeanTest(mean_a, mean_b, mean_b - mean_a, nan, nan, nan, nan)
    mean_a, mean_b = float(a.mean()), float(b.mean())
    va, vb = float(a.var(ddof=1)) / a.size, float(b.var(ddof=1)) / b.size
    diff = mean_b - mean_a
    se = math.sqrt(va + vb)
    if se == 0:
        return MeanTest(mean_a, mean_b, diff, 0.0, 1.0, diff, diff)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    t = diff / se
    p_value = float(2.0 * _st.t.sf(abs(t), dof))
    half = float(_st.t.ppf(0.5 + confidence / 2.0, dof)) * se
    return MeanTest(mean_a, mean_b, diff, t, p_value, diff - half, diff + half)


def beta_smoothed_rate(successes: np.ndarray, trials: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Posterior mean of a Beta(alpha, beta)-Binomial rate: (s + alpha) / (n + alpha + beta)."""
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    return (s + alpha) / (n + alpha + beta)


def chi_square_balance(counts: np.ndarray, weights: np.ndarray) -> float:
    """p-value of a chi-square goodness-of-fit test of observed bucket counts to their weights."""
    counts = np.asarray(counts, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    expected = counts.sum() * weights / weights.sum()
    return float(_st.chisquare(counts, expected).pvalue)
