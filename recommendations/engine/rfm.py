"""RFM scoring and segments of the shopper portrait: recency (days since the last purchase),
frequency (distinct orders) and monetary (revenue) within a window, each scored 1..5 against
population breakpoints, and the segment rules. Pure numpy; used by :mod:`.portrait`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .portrait import SubjectEvents

DAY = 86400.0

DEFAULT_BREAKPOINTS: dict[str, np.ndarray] = {
    # recency: fewer days is better; frequency and monetary: more is better
    "recency": np.array([14.0, 30.0, 90.0, 180.0]),
    "frequency": np.array([1.0, 2.0, 4.0, 8.0]),
    "monetary": np.array([50.0, 150.0, 400.0, 1000.0]),
}


@dataclass(frozen=True)
class SegmentThresholds:
    """Rules of :func:`segment`, checked in this order: churned, at risk, big spender, loyal,
    new, else active."""

    churned_days: float = 120.0  # no activity for this long
    at_risk_days: float = 45.0  # no activity for this long (but not yet churned)
    big_spender_monetary: float = 500.0  # revenue within the RFM window
    loyal_orders: int = 3  # distinct orders within the RFM window
    new_days: float = 14.0  # first seen this recently


@dataclass(frozen=True)
class RFM:
    recency_days: float | None
    frequency: int
    monetary: float
    r: int
    f: int
    m: int


def quintile(value: float, breakpoints: np.ndarray, *, lower_is_better: bool = False) -> int:
    """Score 1..5: how many of the four ascending cut points ``value`` reaches (plus one)."""
    if lower_is_better:
        return 5 - int(np.searchsorted(breakpoints, value, side="left"))
    return 1 + int(np.searchsorted(breakpoints, value, side="right"))


def rfm_breakpoints(
    recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
) -> dict[str, np.ndarray]:
    """Population quintile cut points (20/40/60/80th percentiles) of subjects who purchased."""

    def cuts(values: np.ndarray, default: np.ndarray) -> np.ndarray:
        values = values[~np.isnan(values)]
        if values.size < 5:
            return default
        return np.quantile(values, [0.2, 0.4, 0.6, 0.8])

    return {
        "recency": cuts(np.asarray(recency, dtype=np.float64), DEFAULT_BREAKPOINTS["recency"]),
        "frequency": cuts(np.asarray(frequency, dtype=np.float64), DEFAULT_BREAKPOINTS["frequency"]),
        "monetary": cuts(np.asarray(monetary, dtype=np.float64), DEFAULT_BREAKPOINTS["monetary"]),
    }


def rfm(events: SubjectEvents, now: float, window_days: float, breakpoints: Mapping[str, np.ndarray]) -> RFM:
    """Recency/frequency/monetary of purchases within the window, with 1..5 scores (0: none)."""
    bought = (events.kinds == "purchase") & (events.timestamps >= now - window_days * DAY)
    if not bought.any():
        return RFM(None, 0, 0.0, 0, 0, 0)
    stamps = events.timestamps[bought]
    recency = max(now - float(stamps.max()), 0.0) / DAY
    # purchases without an order id are one order each
    orders = events.orders[bought]
    keyed = {str(o) for o in orders if o}
    frequency = len(keyed) + int(np.sum(orders == ""))
    monetary = float(np.nansum(events.prices[bought] * events.quantities[bought]))
    return RFM(
        recency_days=recency,
        frequency=frequency,
        monetary=round(monetary, 2),
        r=quintile(recency, breakpoints["recency"], lower_is_better=True),
        f=quintile(frequency, breakpoints["frequency"]),
        m=quintile(monetary, breakpoints["monetary"]),
    )


def segment(
    *,
    now: float,
    first_seen: float | None,
    last_seen: float | None,
    scores: RFM,
    thresholds: SegmentThresholds,
) -> str:
    """One of :data:`SEGMENTS`; see :class:`SegmentThresholds` for the rules and their order."""
    if last_seen is None or first_seen is None:
        return "new"
    idle = (now - last_seen) / DAY
    if idle >= thresholds.churned_days:
        return "churned"
    if idle >= thresholds.at_risk_days:
        return "at_risk"
    if scores.monetary >= thresholds.big_spender_monetary:
        return "big_spender"
    if scores.frequency >= thresholds.loyal_orders:
        return "loyal"
    if (now - first_seen) / DAY <= thresholds.new_days:
        return "new"
    return "active"
