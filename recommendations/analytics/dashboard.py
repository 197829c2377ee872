"""Read side of the analytics dashboard: events per day, slot/algorithm performance, trending
products and model freshness.

Slot performance: impressions and clicks carry their ``slot`` and ``context["source"]`` (filled
from the signed recommendation token). A purchase of the clicked product by the same shopper
(user, else anonymous visitor) within ``ATTRIBUTION_WINDOW_HOURS`` after a click is a conversion
of that click's slot and algorithm; a purchase is credited once, to the latest qualifying click
(last touch). The crediting itself is :func:`attribute`, a pure function.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from recommendations.conf import app_settings
from recommendations.models import ActiveModel, DailyEventCount, Event
from recommendations.schema import subject_key

# (subject, product id, timestamp, slot, source) of a click; (subject, product id, timestamp, revenue)
Click = tuple[str, str, datetime, str, str]
Purchase = tuple[str, str, datetime, Decimal]


@dataclass
class SlotStats:
    slot: str
    source: str
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: Decimal = field(default_factory=lambda: Decimal("0"))

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.clicks if self.clicks else None

    @property
    def ctr_percent(self) -> float | None:
        return None if self.ctr is None else 100.0 * self.ctr

    @property
    def conversion_percent(self) -> float | None:
        return None if self.conversion_rate is None else 100.0 * self.conversion_rate


@dataclass
class Performance:
    by_slot: list[SlotStats]
    by_source: list[SlotStats]
    by_slot_source: list[SlotStats]


def attribute(clicks: Iterable[Click], purchases: Iterable[Purchase], window: timedelta) -> dict:
    """``{(slot, source): (conversions, revenue)}``: each purchase goes to the latest click of the
    same subject and product at most ``window`` before it."""
    by_key: dict[tuple[str, str], list[Click]] = defaultdict(list)
    for click in clicks:
        by_key[(click[0], click[1])].append(click)
    for found in by_key.values():
        found.sort(key=lambda c: c[2])
    out: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for subject, product, when, revenue in purchases:
        best = None
        for click in by_key.get((subject, product), ()):
            if click[2] > when:
                break
            if when - click[2] <= window:
                best = click
        if best is not None:
            key = (best[3], best[4])
            count, total = out.get(key, (0, Decimal("0")))
            out[key] = (count + 1, total + revenue)
    return out


def _rollup(stats: dict[tuple[str, str], SlotStats], key_of: Any) -> list[SlotStats]:
    out: dict[tuple[str, str], SlotStats] = {}
    for (slot, source), s in stats.items():
        key = key_of(slot, source)
        agg = out.setdefault(key, SlotStats(*key))
        agg.impressions += s.impressions
        agg.clicks += s.clicks
        agg.conversions += s.conversions
        agg.revenue += s.revenue
    return sorted(out.values(), key=lambda s: (s.slot, s.source))


def slot_performance(since: datetime, until: datetime, *, window_hours: float | None = None) -> Performance:
    """CTR and conversion per slot, per algorithm and per (slot, algorithm) for clicks and
    impressions in ``[since, until)``; purchases count up to the window after ``until``."""
    hours = app_settings.ATTRIBUTION_WINDOW_HOURS if window_hours is None else window_hours
    window = timedelta(hours=float(hours))
    shown = Event.objects.filter(created_at__gte=since, created_at__lt=until)
    stats: dict[tuple[str, str], SlotStats] = {}

    def at(slot: str, source: str) -> SlotStats:
        return stats.setdefault((slot, source), SlotStats(slot, source))

    impressions = shown.filter(kind="impression").values("slot", "context__source").annotate(n=Count("id"))
    for row in impressions:
        at(row["slot"] or "", row["context__source"] or "").impressions += row["n"]
    clicks: list[Click] = []
    for user_id, visitor_id, product_id, created_at, slot, context in shown.filter(kind="click").values_list(
        "user_id", "visitor_id", "product_id", "created_at", "slot", "context"
    ):
        source = str((context or {}).get("source", ""))
        at(slot or "", source).clicks += 1
        if product_id is not None:  # a banner ad's click has no product: nothing to convert
            clicks.append((subject_key(user_id, visitor_id), str(product_id), created_at, slot or "", source))
    if clicks:
        products = {c[1] for c in clicks}
        bought = Event.objects.filter(
            kind="purchase", created_at__gte=since, created_at__lt=until + window, product_id__in=products
        ).values_list("user_id", "visitor_id", "product_id", "created_at", "quantity", "unit_price")
        purchases: list[Purchase] = [
            (subject_key(u, v), str(p), t, (price or Decimal("0")) * (qty or 1))
            for u, v, p, t, qty, price in bought
        ]
        for key, (count, revenue) in attribute(clicks, purchases, window).items():
            at(*key).conversions += count
            at(*key).revenue += revenue
    return Performance(
        by_slot=_rollup(stats, lambda slot, source: (slot, "")),
        by_source=_rollup(stats, lambda slot, source: ("", source)),
        by_slot_source=_rollup(stats, lambda slot, source: (slot, source)),
    )


def events_per_day(since: date, until: date) -> dict[str, dict[date, int]]:
    """``{kind: {day: count}}`` for days in ``[since, until]``: raw events plus the daily roll-up
    of events retention has already purged."""
    out: dict[str, dict[date, int]] = defaultdict(dict)
    rows = (
        Event.objects.filter(created_at__date__gte=since, created_at__date__lte=until)
        .annotate(day=TruncDate("created_at"))
        .values("kind", "day")
        .annotate(n=Count("id"))
    )
    for row in rows:
        out[row["kind"]][row["day"]] = out[row["kind"]].get(row["day"], 0) + row["n"]
    rolled = (
        DailyEventCount.objects.filter(day__gte=since, day__lte=until)
        .values("kind", "day")
        .annotate(n=Sum("events"))
    )
    for row in rolled:
        out[row["kind"]][row["day"]] = out[row["kind"]].get(row["day"], 0) + int(row["n"] or 0)
    return dict(out)


def top_products(since: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """Most engaged-with products since ``since`` (views + 3 x carts + 5 x purchases)."""
    rows = (
        Event.objects.filter(created_at__gte=since, product__isnull=False)
        .values("product_id")
        .annotate(
            views=Count("id", filter=Q(kind="view")),
            carts=Count("id", filter=Q(kind="add_to_cart")),
            purchases=Count("id", filter=Q(kind="purchase")),
        )
    )
    scored = sorted(
        (
            {
                **r,
                "product_id": str(r["product_id"]),
                "score": r["views"] + 3 * r["carts"] + 5 * r["purchases"],
            }
            for r in rows
        ),
        key=lambda r: (-r["score"], r["product_id"]),
    )
    return [r for r in scored if r["score"] > 0][:limit]


def model_freshness() -> list[dict[str, Any]]:
    """The active version of each model kind: when it was built, its size and its metrics."""
    out = []
    for pointer in ActiveModel.objects.select_related("version").order_by("kind"):
        v = pointer.version
        out.append(
            {
                "kind": pointer.kind,
                "version": v.pk,
                "finished_at": v.finished_at or v.created_at,
                "swapped_at": pointer.swapped_at,
                "n_events": v.n_events,
                "n_users": v.n_users,
                "n_items": v.n_items,
                "size_bytes": v.size_bytes,
                "build_seconds": v.build_seconds,
                "metrics": v.metrics or {},
            }
        )
    return out
