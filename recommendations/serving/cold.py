"""Recommendations before any model is trained: live counters, recent events, catalogue order.

The candidate list (most-touched products of the last days, then the first products of the
catalogue) is read with two queries and cached in process for a minute; live product counters
make the last events count immediately.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import numpy as np
from django.db.models import Count
from django.utils import timezone

from recommendations.catalogue.products import ProductInfo, get_adapter, product_info
from recommendations.engine.reshow import browsed
from recommendations.live import product_counters
from recommendations.models import Event
from recommendations.serving.explain import reason
from recommendations.serving.seen import BROWSE_TEXT, VIEWED_TEXT
from recommendations.serving.types import Recommendation
from recommendations.serving.visitor import Facts

CANDIDATES = 300
# Slots of the shopper's own purchases and browsing: never filled with popular products.
PERSONAL_HISTORY = frozenset({"buy_again", "browsed_not_bought"})
TTL_SECONDS = 60.0
_lock = threading.Lock()
_cached: list[tuple[float, list[str], dict[str, int]]] = []


def _candidates() -> tuple[list[str], dict[str, int]]:
    now = time.monotonic()
    if _cached and now - _cached[0][0] < TTL_SECONDS:
        return _cached[0][1], _cached[0][2]
    since = timezone.now() - timedelta(days=14)
    counts = (
        Event.objects.filter(created_at__gte=since, product__isnull=False)
        .values("product")
        .annotate(n=Count("id"))
        .order_by("-n")[:CANDIDATES]
    )
    recent = {str(row["product"]): row["n"] for row in counts}
    catalogue = [
        str(pk) for pk in get_adapter().queryset().order_by("pk").values_list("pk", flat=True)[:CANDIDATES]
    ]
    ids = list(dict.fromkeys([*recent, *catalogue]))
    with _lock:
        _cached[:] = [(now, ids, recent)]
    return ids, recent


def clear() -> None:
    with _lock:
        _cached.clear()


def _allowed(info: ProductInfo | None, context: dict, category: str | None) -> bool:
    if info is None or not info.available:
        return False
    if category is not None and category not in info.categories:
        return False
    low, high = context.get("min_price"), context.get("max_price")
    if (low is not None or high is not None) and info.price is None:
        return False
    return not (
        (low is not None and info.price < float(low)) or (high is not None and info.price > float(high))
    )


def _browsed(facts: Facts, limit: int, banned: set[str]) -> list[Recommendation]:
    """Browsed, not bought, from the live state alone (no model: no trained history yet)."""
    ids = list(dict.fromkeys(item.product_id for item in facts.state.recent_items))
    index = {pid: i for i, pid in enumerate(ids)}
    recent = facts.state.recent_items
    result = browsed(
        np.asarray([index[i.product_id] for i in recent], dtype=np.int64),
        [i.kind for i in recent],
        np.asarray([i.timestamp for i in recent], dtype=np.float64),
        time.time(),
        len(ids),
    )
    infos = product_info(ids)
    order = [int(i) for i in np.argsort(-result.scores, kind="stable") if result.scores[i] > 0]
    out = []
    for i in order:
        pid = ids[i]
        if pid in banned or not _allowed(infos.get(pid), {}, None):
            continue
        text = BROWSE_TEXT.get(result.strongest[i], VIEWED_TEXT)
        out.append(Recommendation(pid, float(result.scores[i]), "browsed", text, (pid,), "browsed"))
    return out[:limit]


def recommend(slot: str, facts: Facts, context: dict, limit: int, banned: set[str]) -> list[Recommendation]:
    if slot in PERSONAL_HISTORY:
        return _browsed(facts, limit, banned) if slot == "browsed_not_bought" else []
    if slot == "recently_viewed":
        ids, recent_counts = list(facts.recent_ids), {}
    else:
        ids, recent_counts = _candidates()
    category = None if context.get("category") is None else str(context["category"])
    infos = product_info(ids)
    ids = [pid for pid in ids if pid not in banned and _allowed(infos.get(pid), context, category)]
    if slot == "recently_viewed":
        return [
            Recommendation(
                pid, 1.0 / (r + 1), "recently_viewed", reason("recently_viewed"), (), "recently_viewed"
            )
            for r, pid in enumerate(ids[:limit])
        ]
    counters = product_counters(ids)
    score = {
        pid: recent_counts.get(pid, 0)
        + counters[pid].views
        + 3 * counters[pid].carts
        + 5 * counters[pid].purchases
        for pid in ids
    }
    touched = set(facts.state.category_interest)
    order = sorted(ids, key=lambda pid: -score[pid])  # stable: catalogue order breaks ties
    in_touched = [p for p in order if score[p] > 0 and touched & set(infos[p].categories)]  # type: ignore[union-attr]
    rest = [p for p in order if p not in set(in_touched)]
    out = []
    for pid in in_touched:
        cat = next(c for c in reversed(infos[pid].categories) if c in touched)  # type: ignore[union-attr]
        out.append(
            Recommendation(
                pid,
                score[pid],
                "trending_in_category",
                reason("trending_in_category", cat),
                (cat,),
                "trending_in_category",
            )
        )
    for pid in rest:
        code = "trending" if score[pid] > 0 else "catalogue"
        out.append(Recommendation(pid, float(score[pid]), code, reason(code), (), code))
    return out[:limit]
