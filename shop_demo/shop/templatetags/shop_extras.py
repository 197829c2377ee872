"""Small template helpers for the demo shop's recommendation slots."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

register = template.Library()


@register.filter
def product_ids(items: Iterable[Any] | None) -> list[str]:
    """The product ids of rendered slot items, e.g. to keep one slot out of the next:
    ``{% trending exclude=for_you_items|product_ids %}``."""
    return [str(item.product_id) for item in items or ()]
