"""A shopper's portrait for the privacy feature: export it as JSON-ready data, erase it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q

from recommendations.models import Portrait
from recommendations.portraits.scheduling import clear_flags
from recommendations.subjects import Subject

logger = logging.getLogger(__name__)

BREAKPOINTS_KEY = "portrait:rfm-breakpoints"


# --- privacy ------------------------------------------------------------------------------------


def _row_dict(portrait: Portrait) -> dict[str, Any]:
    data = {f.name: getattr(portrait, f.attname) for f in Portrait._meta.concrete_fields if f.name != "id"}
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
        elif isinstance(value, Decimal | uuid.UUID):
            data[key] = str(value)
    return data


def portrait_export(user: Any) -> dict[str, Any] | None:
    """The user's portrait as JSON-ready data (``None`` when there is none)."""
    portrait = Portrait.objects.filter(user=user).first()
    return None if portrait is None else _row_dict(portrait)


def erase_portraits(*, user: Any = None, visitor_ids: Iterable[Any] = ()) -> int:
    """Delete every portrait row about the user and/or the visitors; returns rows deleted."""
    query = Q(pk__in=[])
    if user is not None:
        query |= Q(user=user)
        clear_flags(Subject.of(user=user).key)
    ids = [uuid.UUID(str(v)) for v in visitor_ids]
    if ids:
        query |= Q(visitor_id__in=ids)
        for visitor_id in ids:
            clear_flags(Subject.of(visitor_id=visitor_id).key)
    deleted, _ = Portrait.objects.filter(query).delete()
    return deleted
