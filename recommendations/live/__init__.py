"""Live state: what each visitor just did and how hot each product is, readable in microseconds.

Public API (documented in docs/ref/live-state.md)::

    from recommendations.live import visitor_state, product_counters
    state = visitor_state(user=request.user, visitor_id=visitor_id)
    state.recent_items[0].product_id   # the last product touched
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from recommendations.live.base import LiveStore, ProductCounters, RecentItem, VisitorState
from recommendations.tracking.schema import subject_key


def get_live_store() -> LiveStore:
    from recommendations import runtime

    return runtime.live_store()


def visitor_state(*, user: Any = None, visitor_id: uuid.UUID | str | None = None) -> VisitorState:
    """The live state of a logged-in user (preferred) or an anonymous visitor."""
    user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    return get_live_store().visitor_state(subject_key(user_id, visitor_id))


def product_counters(product_ids: Iterable[str]) -> dict[str, ProductCounters]:
    """Decayed view/cart/purchase counters per product id (missing products count zero)."""
    return get_live_store().product_counters(list(product_ids))


__all__ = [
    "LiveStore",
    "ProductCounters",
    "RecentItem",
    "VisitorState",
    "get_live_store",
    "product_counters",
    "visitor_state",
]
