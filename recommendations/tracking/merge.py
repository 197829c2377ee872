"""Anonymous visitor -> user: merge history on login."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from recommendations import signals
from recommendations.live import get_live_store
from recommendations.models import Event, VisitorLink
from recommendations.schema import subject_key


def linked_to_another_user(visitor_id: uuid.UUID, user: Any) -> bool:
    """The visitor id already belongs to a different user (a shared browser: A logged in on it,
    then B logs in without A logging out)."""
    owner = VisitorLink.objects.filter(visitor_id=visitor_id).values_list("user_id", flat=True).first()
    return owner is not None and str(owner) != str(user.pk)


def merge_visitor(visitor_id: uuid.UUID, user: Any) -> int:
    """Attach the visitor's anonymous events to ``user`` and fold its live state into the user's.

    Idempotent. Events still on their way (in the Redis stream, or a late beacon) are attached
    when they are stored, through the :class:`VisitorLink` written here. A visitor is linked to one
    user for good: merging a visitor another user owns changes nothing and returns 0 (the login
    receiver gives that browser a fresh visitor first).
    """
    with transaction.atomic():
        link, _ = VisitorLink.objects.select_for_update().get_or_create(
            visitor_id=visitor_id, defaults={"user": user}
        )
        if link.user_id != user.pk:
            return 0
        merged = Event.objects.filter(visitor_id=visitor_id, user__isnull=True).update(user=user)
    target = subject_key(user.pk, None)
    get_live_store().merge(subject_key(None, visitor_id), target)
    signals.live_state_updated.send_robust(sender=VisitorLink, subjects=[target])
    signals.visitor_merged.send(sender=VisitorLink, visitor_id=visitor_id, user=user, events_merged=merged)
    return merged
