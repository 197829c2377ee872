"""Ad ranking and pacing maths: pure numpy, no Django.

Money here is in integer micro-units (1e-6 of the currency) so budgets compare exactly.
"""

from __future__ import annotations

import numpy as np

from recommendations.engine.stats import beta_smoothed_rate

MICROS = 1_000_000
POLICIES = ("expected_value", "bid", "ctr")


def predicted_ctr(
    clicks: np.ndarray,
    impressions: np.ndarray,
    affinity: np.ndarray,
    *,
    prior: tuple[float, float],
    affinity_weight: float,
) -> np.ndarray:
    """Beta-smoothed campaign CTR lifted by the visitor's affinity to the campaign's targeting:
    ``ctr = (clicks + a) / (impressions + a + b) * (1 + affinity_weight * affinity)``, with
    ``affinity`` in [0, 1]; clipped to [0, 1]."""
    base = beta_smoothed_rate(clicks, impressions, prior[0], prior[1])
    lift = 1.0 + affinity_weight * np.clip(np.asarray(affinity, dtype=np.float64), 0.0, 1.0)
    return np.clip(base * lift, 0.0, 1.0)


def expected_value(ctr: np.ndarray, bid_micros: np.ndarray, is_cpm: np.ndarray) -> np.ndarray:
    """Expected revenue of one impression (micro-units): CPC ``ctr x bid``; CPM ``bid / 1000``."""
    ctr = np.asarray(ctr, dtype=np.float64)
    bid = np.asarray(bid_micros, dtype=np.float64)
    return np.where(np.asarray(is_cpm, dtype=bool), bid / 1000.0, ctr * bid)


def rank(
    ctr: np.ndarray, bid_micros: np.ndarray, is_cpm: np.ndarray, policy: str = "expected_value"
) -> np.ndarray:
    """Indices best first. Ties keep the input order (stable sort)."""
    if policy == "expected_value":
        key = expected_value(ctr, bid_micros, is_cpm)
    elif policy == "bid":
        # a CPM bid per impression next to a CPC bid per click: compare per-impression prices
        key = np.where(np.asarray(is_cpm, dtype=bool), np.asarray(bid_micros) / 1000.0, bid_micros)
    elif policy == "ctr":
        key = np.asarray(ctr, dtype=np.float64)
    else:
        raise ValueError(f"Unknown ad ranking policy {policy!r}; expected one of {POLICIES}")
    return np.argsort(-np.asarray(key, dtype=np.float64), kind="stable")


def cost_per_impression_micros(bid_micros: int, is_cpm: bool) -> int:
    """What one served impression costs: CPM bid / 1000 (rounded up, at least 1), CPC nothing."""
    if not is_cpm:
        return 0
    return max(1, -(-int(bid_micros) // 1000))


def paced_allowance_micros(daily_budget_micros: int, day_fraction: float, burst: float) -> int:
    """Spend allowed so far today: ``daily x (fraction of the day elapsed + burst)``, at most the
    daily budget. Spreads a budget over the day instead of spending it in the first hour."""
    fraction = min(max(day_fraction, 0.0), 1.0)
    allowed = daily_budget_micros * min(1.0, fraction + max(burst, 0.0))
    return int(min(daily_budget_micros, np.floor(allowed)))


def category_affinity(interest: dict[str, float], categories: set[str]) -> float:
    """How strongly a visitor leans to ``categories``: their strongest interest in one of them
    over their strongest interest overall (0..1; 0 with no interest). Interest counts every
    category of a product's path, so a ratio to the maximum, not to the sum, keeps deep trees fair."""
    top = max((v for v in interest.values() if v > 0), default=0.0)
    if top <= 0 or not categories:
        return 0.0
    hit = max((v for k, v in interest.items() if k in categories and v > 0), default=0.0)
    return float(hit / top)
