"""Sponsored items inside an organic slot, with a cap on their share.

``blend`` is pure: it takes the organic list and the sponsored list (best first) and returns one
list where sponsored items sit at the given positions, never more than ``max_share`` of the
result, and an organic duplicate of a sponsored product is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def max_sponsored(total: int, max_share: float) -> int:
    """The most sponsored items a list of ``total`` may hold under ``max_share``."""
    if total <= 0 or max_share <= 0:
        return 0
    return min(total, math.floor(total * min(max_share, 1.0) + 1e-9))


def blend(
    organic: Sequence[T],
    sponsored: Sequence[T],
    *,
    limit: int,
    max_share: float,
    positions: Sequence[int] = (1, 5, 9),
    key: Callable[[T], Any] = lambda item: getattr(item, "product_id", None),
) -> list[T]:
    """Up to ``limit`` items; sponsored ones at ``positions`` (0-based) while the cap allows."""
    allowed = max_sponsored(min(limit, len(organic) + len(sponsored)), max_share)
    ads = list(sponsored[:allowed])
    sponsored_keys = {key(item) for item in ads if key(item) is not None}
    rest = [item for item in organic if key(item) is None or key(item) not in sponsored_keys]
    out: list[T] = []
    slots = sorted(p for p in positions if p >= 0)
    while len(out) < limit and (rest or ads):
        if ads and (len(out) in slots or not rest):
            out.append(ads.pop(0))
        elif rest:
            out.append(rest.pop(0))
    return out
