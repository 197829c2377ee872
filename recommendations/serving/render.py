"""Read side for pages and the API: recommended products ready to render, and slot performance.

Template tags and API views call these; the serving core (``recommendations.serving``) decides
*which* products, this module reads their cached display fields, attaches signed tokens and links.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from recommendations import attribution
from recommendations.catalogue.products import get_adapter, get_product_model, product_display
from recommendations.experiments.registry import recipe_for
from recommendations.serving import recommend
from recommendations.subjects import Subject
from recommendations.tracking.middleware import TOKEN_PARAM
from recommendations.tracking.visitors import get_visitor, subject_of_request

logger = logging.getLogger(__name__)
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_.~:-]*")


class _SlotProducts:
    """The model instances behind one slot's items, loaded with one query for the whole slot the
    first time any item's ``product`` is read (templates showing only the cached display fields
    never pay for it)."""

    __slots__ = ("_keys", "_loaded")

    def __init__(self, keys: list[Any]) -> None:
        self._keys = keys
        self._loaded: dict[Any, Any] | None = None

    def get(self, key: Any) -> Any:
        if self._loaded is None:
            self._loaded = get_adapter().queryset().in_bulk(self._keys)
        return self._loaded.get(key)


@dataclass(frozen=True)
class SlotItem:
    """One product in a rendered slot. ``product`` (the shop's model instance) is loaded on first
    access, for all items of the slot at once; the other fields come from the process cache."""

    product_id: str
    title: str
    url: str  # the product URL carrying the item's recommendation token
    image_url: str | None
    price: Decimal | None
    score: float
    reason: str
    reason_code: str
    source: str
    slot: str
    position: int
    token: str
    _products: _SlotProducts | None = field(default=None, repr=False, compare=False)
    _key: Any = field(default=None, repr=False, compare=False)

    @property
    def product(self) -> Any:
        """The product instance (``None`` if it was deleted since the slot was built)."""
        return None if self._products is None else self._products.get(self._key)


def _with_token(url: str, token: str) -> str:
    if not url:
        return url
    separator = "&" if "?" in url else "?"
    # what urlencode({TOKEN_PARAM: token}) gives; a usual token only needs its ":" escaped
    value = token.replace(":", "%3A") if _PLAIN_TOKEN.fullmatch(token) else quote_plus(token)
    return f"{url}{separator}{TOKEN_PARAM}={value}"


def slot_items(
    request: Any,
    slot: str,
    *,
    context: dict[str, Any] | None = None,
    limit: int | None = None,
    visitor: Subject | None = None,
) -> list[SlotItem]:
    """Recommended products for the visitor behind ``request`` (or the explicit ``visitor``;
    neither, or a visitor who opted out: non-personal). Display fields come from the process
    cache the serving core has just filled, so this costs no query beyond the serving core's
    cached reads; reading an item's ``product`` costs one query for the whole slot."""
    if visitor is None and request is not None and not get_visitor(request).opted_out:
        visitor = subject_of_request(request)  # opted-out visitors get non-personal slots only
    # A running experiment on this slot serves the visitor's variant recipe; items keep ``slot``.
    recommendations = recommend(visitor, recipe_for(slot, visitor), context or {}, limit)
    if not recommendations:
        return []
    displays = product_display([rec.product_id for rec in recommendations])
    shown = [(rec, displays.get(rec.product_id)) for rec in recommendations]
    shown = [(rec, display) for rec, display in shown if display is not None]  # deleted since built
    to_python = get_product_model()._meta.pk.to_python
    keys = [to_python(rec.product_id) for rec, _ in shown]
    products = _SlotProducts(keys)
    request_id = attribution.new_request_id()
    items: list[SlotItem] = []
    for position, ((rec, display), key) in enumerate(zip(shown, keys, strict=True)):
        token = attribution.sign(attribution.Token(slot, rec.source, position, rec.product_id, request_id))
        items.append(
            SlotItem(
                product_id=rec.product_id,
                title=display.title,
                url=_with_token(display.url, token),
                image_url=display.image_url,
                price=display.price,
                score=rec.score,
                reason=rec.reason,
                reason_code=rec.reason_code,
                source=rec.source,
                slot=slot,
                position=position,
                token=token,
                _products=products,
                _key=key,
            )
        )
    return items
