"""Privacy: export everything held about a shopper, erase it synchronously, purge old events.

"Everything" is: events (as user, and as each anonymous visitor id later linked to the user),
visitor links, the recording preference, live state, the portrait, the rows of trained model
versions that name the user, ad frequency-cap counts (Redis keys or rows) and experiment
assignment rows. Events still in the Redis stream are drained first, so nothing lands
after an erasure.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, DecimalField, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from recommendations.ads.ledger import forget_subjects as forget_ad_caps
from recommendations.conf import app_settings
from recommendations.connections import redis_client
from recommendations.experiments import assignment, registry
from recommendations.live import get_live_store
from recommendations.models import DailyEventCount, Event, TrackingPreference, VisitorLink
from recommendations.schema import subject_key

logger = logging.getLogger(__name__)

EXPORT_FIELDS = (
    "event_id",
    "kind",
    "created_at",
    "visitor_id",
    "product_id",
    "query",
    "result_count",
    "quantity",
    "unit_price",
    "order_id",
    "slot",
    "position",
    "source",
    "ip",
    "device",
    "context",
)


def _visitor_ids(user: Any) -> list[uuid.UUID]:
    return list(VisitorLink.objects.filter(user=user).values_list("visitor_id", flat=True))


def _subjects(user: Any, visitor_ids: Iterable[uuid.UUID]) -> list[str]:
    subjects = [subject_key(None, visitor_id) for visitor_id in visitor_ids]
    if user is not None:
        subjects.insert(0, subject_key(user.pk, None))
    return subjects


def _events(user: Any, visitor_ids: list[uuid.UUID]) -> Any:
    """A user's events, and their linked visitors' events not attached to anyone yet; for an
    anonymous visitor, its events that belong to no user. Never another user's events, even where
    a visitor id was shared (one browser, two accounts)."""
    condition = Q(visitor_id__in=visitor_ids, user__isnull=True)
    if user is not None:
        condition |= Q(user=user)
    return Event.objects.filter(condition)


def _experiment_identities(user: Any, visitor_ids: list[uuid.UUID], subjects: list[str]) -> list[str]:
    """The experiment identities (``u:``/``v:``, see experiments.assignment) that are this
    shopper's. An anonymous visitor linked to a user is that user's identity: left to them."""
    if user is not None:
        return subjects
    linked = set(VisitorLink.objects.filter(visitor_id__in=visitor_ids).values_list("visitor_id", flat=True))
    return [subject_key(None, v) for v in visitor_ids if v not in linked]


def _drain_pending() -> None:
    """Move events still in the Redis stream into the database, so they are exported/erased too."""
    if redis_client() is None:
        return
    from recommendations.ingest.stream import drain

    drain()


def _live_state(subject: str) -> dict[str, Any]:
    state = get_live_store().visitor_state(subject)
    return {
        "recent_items": [
            {"product_id": i.product_id, "kind": i.kind, "timestamp": i.timestamp} for i in state.recent_items
        ],
        "recent_searches": [{"query": q, "timestamp": ts} for q, ts in state.recent_searches],
        "category_interest": state.category_interest,
    }


def _portrait_module() -> Any:
    try:
        from recommendations import portraits
    except ImportError:  # portraits are optional until their module is installed
        return None
    return portraits


def _model_rows(subjects: list[str]) -> list[dict[str, Any]]:
    from recommendations.modelstore import part_rows

    found = []
    for _pk, version_id, _name, arrays in part_rows(None, ["users"]):
        keys = arrays["keys"].tolist()
        found += [{"model_version": version_id, "row": keys.index(s)} for s in subjects if s in keys]
    return found


def export_user_data(user: Any = None, *, visitor_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Everything held about a user (and the anonymous visitors linked to them), or about one
    anonymous visitor, as JSON-ready data."""
    _drain_pending()
    visitor_ids = _visitor_ids(user) if user is not None else [visitor_id]
    subjects = _subjects(user, visitor_ids)
    events = _events(user, visitor_ids).order_by("created_at", "id").values(*EXPORT_FIELDS)
    portraits = _portrait_module()
    preference = TrackingPreference.objects.filter(user=user).first() if user is not None else None
    return {
        "user": None if user is None else {"id": str(user.pk), "username": user.get_username()},
        "visitor_ids": [str(v) for v in visitor_ids],
        "tracking_preference": None if preference is None else {"opted_out": preference.opted_out},
        "events": [
            {
                **row,
                "event_id": str(row["event_id"]),
                "visitor_id": row["visitor_id"] and str(row["visitor_id"]),
                "product_id": row["product_id"] and str(row["product_id"]),
                "unit_price": row["unit_price"] and str(row["unit_price"]),
                "created_at": row["created_at"].isoformat(),
            }
            for row in events
        ],
        "live_state": {subject: _live_state(subject) for subject in subjects},
        "portrait": portraits.portrait_export(user) if portraits and user is not None else None,
        "model_rows": _model_rows(subjects),
    }


def _drop_rows(arrays: dict[str, np.ndarray], rows: list[int]) -> None:
    """Empty ``rows`` of every row-indexed table of a ``users`` part, in place: each
    ``<prefix>indptr`` with its ``<prefix>*`` entry arrays (``indices``, ``data`` and any parallel
    column such as ``browsed_kinds``; entries may repeat within a row)."""
    for name in [n for n in arrays if n.endswith("indptr")]:
        prefix = name.removesuffix("indptr")
        indptr = arrays[name].astype(np.int64)
        nnz = int(indptr[-1]) if len(indptr) else 0
        lengths = np.diff(indptr)
        lengths[[r for r in rows if r < len(lengths)]] = 0
        keep = np.ones(nnz, dtype=bool)
        for row in rows:
            if row < len(indptr) - 1:
                keep[indptr[row] : indptr[row + 1]] = False
        for column in [n for n in arrays if n.startswith(prefix) and n != name and not n.endswith("shape")]:
            if arrays[column].ndim == 1 and len(arrays[column]) == nnz:
                arrays[column] = arrays[column][keep]
        arrays[name] = np.r_[0, np.cumsum(lengths)].astype(arrays[name].dtype)


def _redact_models(subjects: set[str]) -> int:
    """Blank the user's rows (id and history) in every stored model version; returns rows redacted."""
    from recommendations.modelstore import part_rows, save_part

    redacted = 0
    for _pk, version_id, name, arrays in part_rows(None, ["users"]):
        keys = arrays["keys"].tolist()
        rows = [i for i, key in enumerate(keys) if key in subjects]
        if not rows:
            continue
        for row in rows:
            keys[row] = ""
        arrays["keys"] = np.asarray(keys, dtype=str)
        _drop_rows(arrays, rows)
        save_part(version_id, name, arrays)
        redacted += len(rows)
    if redacted:
        from recommendations.serving import bundle

        bundle.clear()  # this process reloads the redacted part at once; others on their next check
    return redacted


def erase_user_data(user: Any = None, *, visitor_id: uuid.UUID | None = None) -> dict[str, int]:
    """Remove everything held about a user (or one anonymous visitor), synchronously.

    The user account itself belongs to the shop and stays. Returns what was removed, by kind.
    """
    _drain_pending()
    visitor_ids = _visitor_ids(user) if user is not None else [visitor_id]
    subjects = _subjects(user, visitor_ids)
    portraits = _portrait_module()
    identities = _experiment_identities(user, visitor_ids, subjects)
    with transaction.atomic():
        events, _ = _events(user, visitor_ids).delete()
        assignments = registry.forget_identities(identities)
        # A link belongs to its user: an anonymous erasure never removes one.
        links = VisitorLink.objects.filter(user=user).delete()[0] if user is not None else 0
        preferences = TrackingPreference.objects.filter(user=user).delete()[0] if user is not None else 0
        portrait_rows = portraits.erase_portraits(user=user, visitor_ids=visitor_ids) if portraits else 0
        model_rows = _redact_models(set(subjects))
    store = get_live_store()
    for subject in subjects:
        store.forget(subject)
    caps = forget_ad_caps(subjects)
    if user is not None:
        assignment.forget_user(str(user.pk))
    return {
        "events": events,
        "visitor_links": links,
        "tracking_preferences": preferences,
        "portraits": portrait_rows,
        "model_rows": model_rows,
        "live_states": len(subjects),
        "ad_frequency_caps": caps,
        "experiment_assignments": assignments,
    }


def pseudonym(value: Any) -> str:
    """A stable pseudonymous id (keyed hash) for analytics exports: joinable, not reversible."""
    key = hashlib.sha256(f"recommendations.pseudonym:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()[:20]


def purge_old_events(days: int | None = None, *, batch_days: int = 1) -> dict[str, int]:
    """Roll raw events older than ``days`` (default ``RETENTION_DAYS``) up into
    :class:`DailyEventCount`, then delete them, one day per transaction: a crash mid-purge leaves
    every day either fully rolled up and deleted, or untouched."""
    days = app_settings.RETENTION_DAYS if days is None else days
    if days is None:
        return {"purged": 0, "days": 0}
    cutoff = timezone.now() - timedelta(days=days)
    purged = rolled_days = 0
    while True:
        oldest = (
            Event.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if oldest is None:
            break
        day_end = min(
            cutoff, (oldest + timedelta(days=batch_days)).replace(hour=0, minute=0, second=0, microsecond=0)
        )
        if day_end <= oldest:
            day_end = cutoff
        with transaction.atomic():
            batch = Event.objects.filter(created_at__lt=day_end)
            _roll_up(batch)
            purged += batch.delete()[0]
        rolled_days += 1
    return {"purged": purged, "days": rolled_days}


def _roll_up(events: Any) -> None:
    rows = (
        events.annotate(day=TruncDate("created_at"))
        .values("day", "kind", "product_id", "slot", "context__source")
        .annotate(
            n=Count("id"),
            qty=Sum("quantity"),
            revenue=Sum(F("unit_price") * Coalesce(F("quantity"), 1), output_field=DecimalField()),
        )
    )
    for row in rows:
        key = {
            "day": row["day"],
            "kind": row["kind"],
            "product_id": "" if row["product_id"] is None else str(row["product_id"]),
            "slot": row["slot"] or "",
            "source": row["context__source"] or "",
        }
        count, _ = DailyEventCount.objects.select_for_update().get_or_create(**key)
        count.events += row["n"]
        count.quantity += row["qty"] or 0
        count.revenue += row["revenue"] or 0
        count.save(update_fields=["events", "quantity", "revenue"])
