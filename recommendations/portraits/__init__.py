"""Reading shopper portraits (用户画像) from Python.

    from recommendations.portraits import get_portrait

    portrait = get_portrait(user=request.user)          # or get_portrait(visitor_id=...)
    if portrait is not None:
        portrait.segment            # "new", "active", "loyal", "big_spender", "at_risk", "churned"
        portrait.categories         # [{"id", "label", "score"}], strongest first, score 0..1
        portrait.brands             # same shape
        portrait.price_band         # "budget" .. "luxury" (quintile of catalogue prices), "" unknown
        portrait.purchasing_power   # 0..1: mean catalogue percentile of what they engage with
        portrait.recency_days, portrait.frequency, portrait.monetary   # RFM raw values
        portrait.r_score, portrait.f_score, portrait.m_score           # 1..5 (0: never bought)
        portrait.lifetime_value, portrait.sessions, portrait.last_seen
        portrait.activity           # {"hours": [24], "weekdays": [7], "daily": [...], "devices": {}}
        portrait.search_terms       # [[term, count], ...]
        portrait.next_categories    # [{"id", "label", "score"}]: where they are likely to go next

Portraits are rebuilt a short while after a shopper's events (``PORTRAIT_DEBOUNCE_SECONDS``) and
nightly. With eager Celery (the embedded default) a shopper with new events is rebuilt when read.
Opted-out users have no portrait: ``get_portrait`` returns ``None``.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS

from recommendations.connections import read_database
from recommendations.models import Portrait
from recommendations.portraits.build import opted_out, rebuild, rebuild_all, rebuild_subject, rescore
from recommendations.portraits.export import erase_portraits, portrait_export
from recommendations.portraits.scheduling import is_stale, schedule, schedule_for_rows
from recommendations.subjects import Subject


def get_portrait(user: Any = None, *, visitor_id: Any = None, refresh: bool = False) -> Portrait | None:
    """The portrait of a user (preferred) or an anonymous visitor; ``refresh=True`` recomputes it
    now. Returns ``None`` for an opted-out user or a subject without events."""
    if user is not None and not getattr(user, "is_authenticated", True):
        user = None
    if user is None and visitor_id is None:
        return None
    subject = Subject.of(user=user, visitor_id=visitor_id).key
    lookup = {"user": user} if user is not None else {"visitor_id": visitor_id}
    found = Portrait.objects.using(read_database()).filter(**lookup).first()
    if found is None and read_database() != DEFAULT_DB_ALIAS:
        found = Portrait.objects.filter(**lookup).first()  # built, not replayed on the replica yet
    if refresh or found is None or is_stale(subject):
        return rebuild(user=user, visitor_id=visitor_id)
    if user is not None and opted_out(user):
        return None
    return found


__all__ = [
    "Portrait",
    "erase_portraits",
    "get_portrait",
    "is_stale",
    "opted_out",
    "portrait_export",
    "rebuild",
    "rebuild_all",
    "rebuild_subject",
    "rescore",
    "schedule",
    "schedule_for_rows",
]
