"""Anonymous visitor -> user: merge history on login."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from recommendations import signals
from recommendations.live import get_live_store
from recommendations.models import Event, VisitorLink
from recommendations.schema import subject_key


def merge_visitor(visitor_id: uuid.UUID, user: Any) -> int:
    """Attach the visitor's anonymous events to ``user`` and fold its live state into the user's.

    Idempotent. Events still on their way (in the Redis stream, or a late beacon) are attached
    when they are stored, through the :class:`VisitorLink` written here.
    """
    with transaction.atomic():
        VisitorLink.objects.update_or_create(visitor_id=visitor_id, defaults={"user": user})
        merged = Event.objects.filter(visitor_id=visitor_id, user__isnull=True).update(user=user)
    target = subject_key(user.pk, None)
    get_live_store().merge(subject_key(None, visitor_id), target)
    signals.live_state_updated.send_robust(sender=VisitorLink, subjects=[target])
    signals.visitor_merged.send(sender=VisitorLink, visitor_id=visitor_id, user=user, events_merged=merged)
    return merged
