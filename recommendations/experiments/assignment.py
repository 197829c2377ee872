"""Who is in which variant: ``hash(identity, salt)`` -> a point in [0, 1) -> a weighted variant.

Deterministic and stateless: any process computes the same variant, and nothing has to be stored.

**The identity rule.** An anonymous visitor is ``v:<visitor id>``. A logged-in user is
``v:<the first visitor id ever linked to them>`` (their earliest :class:`VisitorLink`), and
``u:<user id>`` only when no visitor was ever linked (API-only users). Logging in creates the
link of the current visitor, so a shopper who was anonymous and logs in for the first time keeps
the variant they had; a user seen on several devices is in the variant of their first device
from the moment they log in there.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence

from recommendations.models import VisitorLink
from recommendations.subjects import Subject

_LINK_TTL = 300.0
_links: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


def unit_point(identity: str, salt: str) -> float:
    """A uniform point in [0, 1) from the first 64 bits of SHA-256(salt | identity)."""
    digest = hashlib.sha256(f"{salt}|{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def bucket(identity: str, salt: str, weights: Sequence[int | float]) -> int:
    """Index of the variant whose share of the cumulative weights holds the identity's point."""
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("Variant weights must add up to more than zero.")
    point = unit_point(identity, salt) * total
    running = 0.0
    for index, weight in enumerate(weights):
        running += weight
        if point < running:
            return index
    return len(weights) - 1


def first_linked_visitor(user_id: str) -> str | None:
    """The user's earliest linked visitor id (cached in process once found: it never changes)."""
    now = time.monotonic()
    with _lock:
        hit = _links.get(user_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    link = (
        VisitorLink.objects.filter(user_id=user_id)
        .order_by("merged_at", "id")
        .values_list("visitor_id", flat=True)
    )
    first = link.first()
    if first is None:
        return None
    with _lock:
        if len(_links) > 100_000:
            _links.clear()
        _links[user_id] = (now + _LINK_TTL, str(first))
    return str(first)


def identity_of(visitor: Subject | None) -> str | None:
    """The experiment identity of a visitor (see the module docstring); None for nobody."""
    if visitor is None:
        return None
    if visitor.user_id not in (None, ""):
        first = first_linked_visitor(str(visitor.user_id))
        return f"v:{first}" if first else f"u:{visitor.user_id}"
    return None if visitor.visitor_id is None else f"v:{visitor.visitor_id}"


def identities_of_users(user_ids: Sequence[str]) -> dict[str, str]:
    """Bulk form of the rule for reports: user id -> identity (one query)."""
    found: dict[str, str] = {}
    rows = VisitorLink.objects.filter(user_id__in=list(user_ids)).order_by("merged_at", "id")
    for user_id, visitor_id in rows.values_list("user_id", "visitor_id"):
        found.setdefault(str(user_id), f"v:{visitor_id}")
    return {uid: found.get(str(uid), f"u:{uid}") for uid in user_ids}


def forget_user(user_id: str) -> None:
    """Erasure: drop this process's cached first visitor of ``user_id`` (others expire it within
    ``_LINK_TTL``; the link itself is deleted with the user's data)."""
    with _lock:
        _links.pop(str(user_id), None)


def clear() -> None:
    with _lock:
        _links.clear()
