"""Portraits: the event log -> the portrait engine -> ``Portrait`` rows (the only ORM/engine join).

* :func:`rebuild` recomputes one subject (a user, or an anonymous visitor) now;
* :func:`rebuild_subject` does it by ``u:``/``v:`` key (the Celery task's entry);
* :func:`rebuild_all` is the nightly bulk pass (also re-scores RFM quintiles on the population).

Opted-out users get no portrait (and lose the one they had). Debounced rebuilds after new events
are :mod:`.scheduling`'s; export and erasure for the privacy feature are :mod:`.export`'s.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.engine import portrait as engine
from recommendations.models import Event, Portrait, TrackingPreference
from recommendations.portraits.facts import catalogue_prices, product_facts
from recommendations.portraits.scheduling import clear_flags
from recommendations.subjects import Subject

logger = logging.getLogger(__name__)

BREAKPOINTS_KEY = "portrait:rfm-breakpoints"


# --- subjects ---------------------------------------------------------------------------------


def _parse(key: str) -> tuple[Any, uuid.UUID | None]:
    """(user or None, visitor id or None) of a ``u:``/``v:`` key; unknown users give (None, None)."""
    subject = Subject.from_key(key)
    if subject.user_id is not None:
        return get_user_model()._default_manager.filter(pk=subject.user_id).first(), None
    return None, subject.visitor_id


def opted_out(user: Any) -> bool:
    return user is not None and TrackingPreference.objects.filter(user=user, opted_out=True).exists()


# --- reading events into arrays ----------------------------------------------------------------


def _events(user: Any, visitor_id: uuid.UUID | None) -> tuple[engine.SubjectEvents, dict[str, list]]:
    qs = Event.objects.for_subject(user=user, visitor_id=visitor_id).order_by("-created_at")
    rows = list(
        qs.values_list(
            "kind", "created_at", "product_id", "query", "quantity", "unit_price", "order_id", "device"
        )[: app_settings.PORTRAIT_MAX_EVENTS]
    )
    facts = product_facts({str(r[2]) for r in rows if r[2] is not None})
    cat_code: dict[str, int] = {}
    tables: dict[str, list] = {"category_ids": [], "category_labels": [], "parents": [], "brands": []}
    brand_code: dict[str, int] = {}
    brand_label: dict[str, str] = {}

    def category(path: tuple[tuple[str, str], ...]) -> int:
        parent = -1
        for cid, label in path:
            code = cat_code.get(cid)
            if code is None:
                code = cat_code[cid] = len(cat_code)
                tables["category_ids"].append(cid)
                tables["category_labels"].append(label)
                tables["parents"].append(parent)
            parent = code
        return parent

    kinds, stamps, cats, brands, prices, qtys, devices, queries, orders = ([] for _ in range(9))
    for kind, created_at, product_id, query, quantity, unit_price, order_id, device in rows:
        fact = facts.get(str(product_id)) if product_id is not None else None
        kinds.append(kind)
        stamps.append(created_at.timestamp())
        cats.append(category(fact.path) if fact and fact.path else -1)
        if fact and fact.brand:
            brands.append(brand_code.setdefault(fact.brand, len(brand_code)))
            brand_label.setdefault(fact.brand, fact.brand_label or fact.brand)
        else:
            brands.append(-1)
        price = unit_price if unit_price is not None else (fact.price if fact else None)
        prices.append(np.nan if price is None else float(price))
        qtys.append(float(quantity) if quantity else 1.0)
        devices.append(device or "")
        queries.append(query if kind == "search" else "")
        orders.append(order_id or "")
    tables["brands"] = list(brand_code)
    tables["brand_labels"] = [brand_label[b] for b in brand_code]
    events = engine.SubjectEvents(
        kinds=np.asarray(kinds, dtype=str),
        timestamps=np.asarray(stamps, dtype=np.float64),
        categories=np.asarray(cats, dtype=np.int64),
        brands=np.asarray(brands, dtype=np.int64),
        prices=np.asarray(prices, dtype=np.float64),
        quantities=np.asarray(qtys, dtype=np.float64),
        devices=np.asarray(devices, dtype=str),
        queries=np.asarray(queries, dtype=str),
        orders=np.asarray(orders, dtype=str),
    )
    return events, tables


def _breakpoints() -> dict[str, np.ndarray]:
    cached = cache.get(BREAKPOINTS_KEY)
    if cached is not None:
        return {k: np.asarray(v, dtype=np.float64) for k, v in cached.items()}
    return refresh_breakpoints()


def refresh_breakpoints() -> dict[str, np.ndarray]:
    """RFM quintile cut points over every portrait with a purchase (cached for a day)."""
    values = np.asarray(
        list(Portrait.objects.filter(frequency__gt=0).values_list("recency_days", "frequency", "monetary")),
        dtype=np.float64,
    ).reshape(-1, 3)
    found = engine.rfm_breakpoints(values[:, 0], values[:, 1], values[:, 2])
    cache.set(BREAKPOINTS_KEY, {k: v.tolist() for k, v in found.items()}, 24 * 3600)
    return found


def params(now: float | None = None) -> engine.PortraitParams:
    return engine.PortraitParams(
        now=timezone.now().timestamp() if now is None else now,
        weights={**app_settings.event_weights, "search": 0.0, "impression": 0.0},
        half_life_days=float(app_settings.PORTRAIT_HALF_LIFE_DAYS),
        session_gap_seconds=float(app_settings.SESSION_GAP_SECONDS),
        catalogue_prices=catalogue_prices(),
        thresholds=engine.SegmentThresholds(**app_settings.PORTRAIT_SEGMENTS),
        rfm_breakpoints=_breakpoints(),
        rfm_window_days=float(app_settings.PORTRAIT_RFM_WINDOW_DAYS),
        activity_days=int(app_settings.PORTRAIT_ACTIVITY_DAYS),
        top_n=int(app_settings.PORTRAIT_TOP_N),
    )


# --- engine result -> row ------------------------------------------------------------------------


def _when(stamp: float | None) -> datetime | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, tz=UTC)


def _labelled(codes: np.ndarray, scores: np.ndarray, ids: list[str], labels: list[str]) -> list[dict]:
    return [
        {"id": ids[c], "label": labels[c], "score": round(float(s), 4)}
        for c, s in zip(codes.tolist(), scores.tolist(), strict=True)
    ]


def _fields(result: engine.PortraitResult, tables: dict[str, list], now: float) -> dict[str, Any]:
    cat_ids, cat_labels = tables["category_ids"], tables["category_labels"]
    brand_ids, brand_labels = tables["brands"], tables.get("brand_labels", tables["brands"])
    start = datetime.fromtimestamp(now, tz=UTC).date() - timedelta(days=len(result.daily) - 1)
    return {
        "segment": result.segment,
        "n_events": result.n_events,
        "sessions": result.sessions,
        "first_seen": _when(result.first_seen),
        "last_seen": _when(result.last_seen),
        "recency_days": None if result.rfm.recency_days is None else round(result.rfm.recency_days, 3),
        "frequency": result.rfm.frequency,
        "monetary": Decimal(str(result.rfm.monetary)),
        "r_score": result.rfm.r,
        "f_score": result.rfm.f,
        "m_score": result.rfm.m,
        "lifetime_value": Decimal(str(result.lifetime_value)),
        "price_band": result.price_band or "",
        "purchasing_power": result.purchasing_power,
        "median_price": result.median_price,
        "categories": _labelled(result.category_codes, result.category_scores, cat_ids, cat_labels),
        "brands": _labelled(result.brand_codes, result.brand_scores, brand_ids, brand_labels),
        "next_categories": _labelled(
            result.next_category_codes, result.next_category_scores, cat_ids, cat_labels
        ),
        "search_terms": [[term, count] for term, count in result.search_terms],
        "activity": {
            "hours": result.hours.tolist(),
            "weekdays": result.weekdays.tolist(),
            "daily": result.daily.tolist(),
            "daily_start": start.isoformat(),
            "devices": result.devices,
            "kinds": result.kinds,
        },
    }


# --- write side --------------------------------------------------------------------------------


def rebuild(*, user: Any = None, visitor_id: Any = None, now: float | None = None) -> Portrait | None:
    """Recompute one subject's portrait now; ``None`` (and no row) when there is nothing to say:
    no events, an opted-out user, or a visitor who has since logged in."""
    visitor = None if user is not None or visitor_id is None else uuid.UUID(str(visitor_id))
    lookup = {"user": user} if user is not None else {"visitor_id": visitor}
    clear_flags(Subject.of(user=user, visitor_id=visitor).key)
    if opted_out(user):
        Portrait.objects.filter(**lookup).delete()
        return None
    events, tables = _events(user, visitor)
    if len(events) == 0:
        Portrait.objects.filter(**lookup).delete()
        return None
    p = dataclasses.replace(params(now), category_parents=np.asarray(tables["parents"], dtype=np.int64))
    result = engine.build_portrait(events, p)
    portrait, _ = Portrait.objects.update_or_create(**lookup, defaults=_fields(result, tables, p.now))
    return portrait


def rebuild_subject(subject: str) -> bool:
    """Rebuild by ``u:<id>`` / ``v:<uuid>`` key (the Celery task's entry); True if a row exists."""
    user, visitor_id = _parse(subject)
    if user is None and visitor_id is None:
        clear_flags(subject)
        return False
    return rebuild(user=user, visitor_id=visitor_id) is not None


def rebuild_all(*, now: float | None = None) -> dict[str, int]:
    """Every user with events, and every anonymous visitor active within
    ``PORTRAIT_VISITOR_ACTIVE_DAYS``; drops other portraits; re-scores RFM on the population."""
    moment = timezone.now() if now is None else datetime.fromtimestamp(now, tz=UTC)
    stamp = moment.timestamp()
    user_model = get_user_model()
    user_ids = set(Event.objects.filter(user__isnull=False).values_list("user_id", flat=True).distinct())
    cutoff = moment - timedelta(days=app_settings.PORTRAIT_VISITOR_ACTIVE_DAYS)
    visitors = set(
        Event.objects.filter(user__isnull=True, visitor_id__isnull=False, created_at__gte=cutoff)
        .values_list("visitor_id", flat=True)
        .distinct()
    )
    built = 0
    for user in user_model._default_manager.filter(pk__in=user_ids).iterator(chunk_size=500):
        built += rebuild(user=user, now=stamp) is not None
    for visitor_id in sorted(visitors, key=str):
        built += rebuild(visitor_id=visitor_id, now=stamp) is not None
    stale = Portrait.objects.filter(
        Q(user__isnull=False) & ~Q(user_id__in=user_ids) | Q(user__isnull=True) & ~Q(visitor_id__in=visitors)
    )
    dropped, _ = stale.delete()
    rescored = rescore()
    return {"built": built, "dropped": dropped, "rescored": rescored}


def rescore() -> int:
    """Recompute R/F/M quintile scores of every portrait against fresh population cut points."""
    cuts = refresh_breakpoints()
    changed = []
    for row in Portrait.objects.filter(frequency__gt=0).only(
        "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"
    ):
        scores = (
            engine.quintile(row.recency_days or 0.0, cuts["recency"], lower_is_better=True),
            engine.quintile(row.frequency, cuts["frequency"]),
            engine.quintile(float(row.monetary), cuts["monetary"]),
        )
        if scores != (row.r_score, row.f_score, row.m_score):
            row.r_score, row.f_score, row.m_score = scores
            changed.append(row)
    Portrait.objects.bulk_update(changed, ["r_score", "f_score", "m_score"], batch_size=500)
    return len(changed)
