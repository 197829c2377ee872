"""The shopper portrait (用户画像) from one subject's events, as arrays: pure numpy.

Input is one user's (or anonymous visitor's) events as parallel arrays (:class:`SubjectEvents`);
output is a :class:`PortraitResult` of plain numbers and codes. The caller maps category and
brand codes back to ids and labels. Everything is deterministic: ties break by code or by text.

What is computed:

* decayed category and brand affinities (each event weighted by its kind and halved every
  ``half_life_days``; a category gets the credit of events in it and in its sub-categories),
  scaled so the strongest is 1;
* price band (quintile of the catalogue price distribution) and purchasing power (the mean
  catalogue percentile of the prices the subject engaged with, purchases counting most);
* RFM and a segment (:mod:`.rfm`);
* activity: sessions (cut after ``session_gap_seconds``), first/last seen, hour-of-day and weekday
  histograms, devices, events per day over the last ``activity_days``;
* top search terms, lifetime value, and predicted next categories: the subject's own
  category-to-category transitions from their last category, blended with their affinity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from .rfm import DAY, DEFAULT_BREAKPOINTS, RFM, SegmentThresholds, quintile, rfm, rfm_breakpoints, segment

SEGMENTS = ("new", "active", "loyal", "big_spender", "at_risk", "churned")
PRICE_BANDS = ("budget", "value", "mid", "premium", "luxury")
# Engagement with a price counts by kind when estimating purchasing power.
PRICE_KIND_WEIGHTS = {"purchase": 4.0, "add_to_cart": 2.0, "view": 1.0, "click": 1.0}


@dataclass(frozen=True)
class SubjectEvents:
    """One subject's events, parallel arrays of equal length (any order)."""

    kinds: np.ndarray  # str per event: view, search, add_to_cart, purchase, click, ...
    timestamps: np.ndarray  # float64 unix seconds
    categories: np.ndarray  # int64 leaf category code, -1 for none
    brands: np.ndarray  # int64 brand code, -1 for none
    prices: np.ndarray  # float64 unit price, nan when unknown
    quantities: np.ndarray  # float64 (1 when unknown)
    devices: np.ndarray  # str ("" unknown)
    queries: np.ndarray  # str ("" for events that are not searches)
    orders: np.ndarray  # str order id ("" for none)

    def __post_init__(self) -> None:
        n = len(self.kinds)
        for name in (
            "timestamps",
            "categories",
            "brands",
            "prices",
            "quantities",
            "devices",
            "queries",
            "orders",
        ):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SubjectEvents.{name} has {len(getattr(self, name))} rows, kinds has {n}")

    @classmethod
    def empty(cls) -> SubjectEvents:
        return cls(
            kinds=np.empty(0, dtype=str),
            timestamps=np.empty(0),
            categories=np.empty(0, dtype=np.int64),
            brands=np.empty(0, dtype=np.int64),
            prices=np.empty(0),
            quantities=np.empty(0),
            devices=np.empty(0, dtype=str),
            queries=np.empty(0, dtype=str),
            orders=np.empty(0, dtype=str),
        )

    def __len__(self) -> int:
        return len(self.kinds)


@dataclass(frozen=True)
class PortraitParams:
    now: float
    weights: Mapping[str, float]  # kind -> weight for affinities (unknown kinds count 0)
    half_life_days: float = 30.0
    session_gap_seconds: float = 1800.0
    category_parents: np.ndarray | None = None  # parent code per category code, -1 for a root
    catalogue_prices: np.ndarray | None = None  # every catalogue price (any order, nan ignored)
    thresholds: SegmentThresholds = field(default_factory=SegmentThresholds)
    # Four ascending cut points each for recency days, orders and revenue (None: fixed defaults).
    rfm_breakpoints: Mapping[str, np.ndarray] | None = None
    rfm_window_days: float = 365.0
    activity_days: int = 30
    utc_offset_seconds: float = 0.0
    top_n: int = 10
    next_alpha: float = 0.6  # share of transitions (vs affinity) in the next-category prediction
    next_prior: float = 2.0  # pseudo-count: with n observed transitions the share is alpha*n/(n+prior)


@dataclass(frozen=True)
class PortraitResult:
    n_events: int
    category_codes: np.ndarray  # by descending affinity
    category_scores: np.ndarray
    brand_codes: np.ndarray
    brand_scores: np.ndarray
    price_band: str | None
    purchasing_power: float | None  # 0..1: catalogue percentile
    median_price: float | None
    rfm: RFM
    segment: str
    lifetime_value: float
    sessions: int
    first_seen: float | None
    last_seen: float | None
    hours: np.ndarray  # 24 counts
    weekdays: np.ndarray  # 7 counts, Monday first
    daily: np.ndarray  # activity_days counts, oldest first, the last is "today"
    devices: dict[str, int]
    kinds: dict[str, int]
    search_terms: list[tuple[str, int]]
    next_category_codes: np.ndarray
    next_category_scores: np.ndarray


def decay(timestamps: np.ndarray, now: float, half_life_days: float) -> np.ndarray:
    """``2 ** (-age / half_life)``; events in the future count fully."""
    age = np.maximum(now - np.asarray(timestamps, dtype=np.float64), 0.0)
    return np.power(2.0, -age / (half_life_days * DAY))


def _ancestors(code: int, parents: np.ndarray | None) -> list[int]:
    path = [code]
    while parents is not None and 0 <= path[-1] < len(parents) and parents[path[-1]] >= 0 and len(path) < 16:
        path.append(int(parents[path[-1]]))
    return path


def _ranked(totals: dict[int, float], top_n: int) -> tuple[np.ndarray, np.ndarray]:
    items = sorted(((-v, k) for k, v in totals.items() if v > 0.0))[:top_n]
    if not items:
        return np.empty(0, dtype=np.int64), np.empty(0)
    codes = np.array([k for _, k in items], dtype=np.int64)
    scores = np.array([-v for v, _ in items], dtype=np.float64)
    return codes, scores / scores[0]


def affinities(
    codes: np.ndarray, credit: np.ndarray, top_n: int, parents: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top codes by summed credit (ancestors get their descendants' credit), strongest = 1."""
    totals: dict[int, float] = {}
    mask = (codes >= 0) & (credit > 0)
    leaf_sums: dict[int, float] = {}
    for code, value in zip(codes[mask].tolist(), credit[mask].tolist(), strict=True):
        leaf_sums[code] = leaf_sums.get(code, 0.0) + value
    for code, value in sorted(leaf_sums.items()):
        for node in _ancestors(code, parents):
            totals[node] = totals.get(node, 0.0) + value
    return _ranked(totals, top_n)


def price_position(
    prices: np.ndarray, kinds: np.ndarray, catalogue_prices: np.ndarray | None
) -> tuple[str | None, float | None, float | None]:
    """(price band, purchasing power 0..1, weighted median price) of engaged prices."""
    weights = np.array([PRICE_KIND_WEIGHTS.get(str(k), 0.0) for k in kinds], dtype=np.float64)
    mask = ~np.isnan(prices) & (weights > 0)
    if not mask.any():
        return None, None, None
    values, w = prices[mask], weights[mask]
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(w[order])
    median = float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])
    if catalogue_prices is None:
        return None, None, median
    catalogue = np.sort(catalogue_prices[~np.isnan(catalogue_prices)])
    if catalogue.size == 0:
        return None, None, median
    # mid-rank percentile: a price equal to every catalogue price is at 0.5
    below = np.searchsorted(catalogue, values, side="left")
    upto = np.searchsorted(catalogue, values, side="right")
    percentiles = (below + upto) / (2.0 * catalogue.size)
    power = float(np.average(percentiles, weights=w))
    median_pct = (
        np.searchsorted(catalogue, median, "left") + np.searchsorted(catalogue, median, "right")
    ) / (2.0 * catalogue.size)
    band = PRICE_BANDS[min(int(median_pct * len(PRICE_BANDS)), len(PRICE_BANDS) - 1)]
    return band, power, median


def count_sessions(timestamps: np.ndarray, gap_seconds: float) -> int:
    if timestamps.size == 0:
        return 0
    stamps = np.sort(timestamps)
    return 1 + int(np.sum(np.diff(stamps) > gap_seconds))


def activity(
    timestamps: np.ndarray, now: float, days: int, utc_offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hour-of-day (24) and weekday (7, Monday first) histograms, and events per day for the last
    ``days`` days (oldest first; the last bin is the day holding ``now``)."""
    local = np.asarray(timestamps, dtype=np.float64) + utc_offset
    day_index = np.floor(local / DAY).astype(np.int64)
    hours = np.bincount(((local % DAY) // 3600).astype(np.int64), minlength=24)[:24]
    # 1970-01-01 was a Thursday (weekday 3 with Monday = 0)
    weekdays = np.bincount((day_index + 3) % 7, minlength=7)[:7]
    today = int(np.floor((now + utc_offset) / DAY))
    offset = day_index - (today - days + 1)
    inside = (offset >= 0) & (offset < days)
    daily = np.bincount(offset[inside], minlength=days)[:days]
    return hours.astype(np.int64), weekdays.astype(np.int64), daily.astype(np.int64)


def search_terms(queries: np.ndarray, top_n: int) -> list[tuple[str, int]]:
    """Most frequent normalised (lower-cased, whitespace-collapsed) queries; ties alphabetical."""
    counts: dict[str, int] = {}
    for query in queries.tolist():
        term = " ".join(str(query).lower().split())
        if term:
            counts[term] = counts.get(term, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]


def next_categories(
    categories: np.ndarray,
    timestamps: np.ndarray,
    affinity_codes: np.ndarray,
    affinity_scores: np.ndarray,
    alpha: float,
    top_n: int,
    prior: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Where the subject is likely to go next: P(next | last category) from their own transitions
    between consecutive distinct categories, weighted ``alpha * n / (n + prior)`` for ``n``
    observed transitions out of the last category (one transition is weak evidence), plus the
    rest x affinity (leaf codes only; the caller passes leaf affinities). Scores sum to 1."""
    order = np.argsort(timestamps, kind="stable")
    sequence = [int(c) for c in categories[order].tolist() if c >= 0]
    collapsed = [c for i, c in enumerate(sequence) if i == 0 or c != sequence[i - 1]]
    totals: dict[int, float] = {}
    if collapsed:
        last = collapsed[-1]
        followers: dict[int, int] = {}
        for current, following in pairwise(collapsed):
            if current == last:
                followers[following] = followers.get(following, 0) + 1
        n = sum(followers.values())
        share = alpha * n / (n + prior) if n else 0.0
        for code, count in followers.items():
            totals[code] = totals.get(code, 0.0) + share * count / n
        rest = 1.0 - share
    else:
        rest = 1.0
    if affinity_scores.size:
        normalised = affinity_scores / affinity_scores.sum()
        for code, value in zip(affinity_codes.tolist(), normalised.tolist(), strict=True):
            totals[code] = totals.get(code, 0.0) + rest * value
    items = sorted(((-v, k) for k, v in totals.items() if v > 0.0))[:top_n]
    return np.array([k for _, k in items], dtype=np.int64), np.array([-v for v, _ in items], dtype=np.float64)


def build_portrait(events: SubjectEvents, params: PortraitParams) -> PortraitResult:
    """Everything above for one subject."""
    now = params.now
    weights = np.array([params.weights.get(str(k), 0.0) for k in events.kinds.tolist()], dtype=np.float64)
    credit = np.maximum(weights, 0.0) * decay(events.timestamps, now, params.half_life_days)
    cat_codes, cat_scores = affinities(events.categories, credit, params.top_n, params.category_parents)
    brand_codes, brand_scores = affinities(events.brands, credit, params.top_n)
    leaf_codes, leaf_scores = affinities(events.categories, credit, params.top_n)
    band, power, median = price_position(events.prices, events.kinds, params.catalogue_prices)
    breakpoints = params.rfm_breakpoints or DEFAULT_BREAKPOINTS
    scores = rfm(events, now, params.rfm_window_days, breakpoints)
    first = float(events.timestamps.min()) if len(events) else None
    last = float(events.timestamps.max()) if len(events) else None
    hours, weekdays, daily = activity(events.timestamps, now, params.activity_days, params.utc_offset_seconds)
    purchases = events.kinds == "purchase"
    ltv = float(np.nansum(events.prices[purchases] * events.quantities[purchases]))
    next_codes, next_scores = next_categories(
        events.categories,
        events.timestamps,
        leaf_codes,
        leaf_scores,
        params.next_alpha,
        params.top_n,
        params.next_prior,
    )
    devices, device_counts = np.unique(events.devices[events.devices != ""], return_counts=True)
    kinds, kind_counts = np.unique(events.kinds, return_counts=True)
    return PortraitResult(
        n_events=len(events),
        category_codes=cat_codes,
        category_scores=cat_scores,
        brand_codes=brand_codes,
        brand_scores=brand_scores,
        price_band=band,
        purchasing_power=power,
        median_price=median,
        rfm=scores,
        segment=segment(
            now=now, first_seen=first, last_seen=last, scores=scores, thresholds=params.thresholds
        ),
        lifetime_value=round(ltv, 2),
        sessions=count_sessions(events.timestamps, params.session_gap_seconds),
        first_seen=first,
        last_seen=last,
        hours=hours,
        weekdays=weekdays,
        daily=daily,
        devices={str(d): int(c) for d, c in zip(devices.tolist(), device_counts.tolist(), strict=True)},
        kinds={str(k): int(c) for k, c in zip(kinds.tolist(), kind_counts.tolist(), strict=True)},
        search_terms=search_terms(events.queries, params.top_n),
        next_category_codes=next_codes,
        next_category_scores=next_scores,
    )


__all__ = [
    "RFM",
    "PortraitParams",
    "PortraitResult",
    "SegmentThresholds",
    "SubjectEvents",
    "build_portrait",
    "quintile",
    "rfm",
    "rfm_breakpoints",
    "segment",
]
