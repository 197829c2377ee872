"""Read side for pages and the API: recommended products ready to render, and slot performance.

Template tags and API views call these; the serving core (``recommendations.serving``) decides
*which* products, this module loads them (one query), attaches signed tokens and links.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from recommendations import attribution
from recommendations.experiments.registry import recipe_for
from recommendations.products import get_adapter, get_product_model
from recommendations.serving import VisitorRef, recommend
from recommendations.tracking.middleware import TOKEN_PARAM
from recommendations.tracking.visitors import get_visitor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlotItem:
    """One product in a rendered slot."""

    product: Any
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


def _with_token(url: str, token: str) -> str:
    if not url:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({TOKEN_PARAM: token})}"


def slot_items(
    request: Any,
    slot: str,
    *,
    context: dict[str, Any] | None = None,
    limit: int | None = None,
    visitor: VisitorRef | None = None,
) -> list[SlotItem]:
    """Recommended products for the visitor behind ``request`` (or the explicit ``visitor``;
    neither, or a visitor who opted out: non-personal). Costs one product query beyond the
    serving core's cached reads."""
    if visitor is None and request is not None and not get_visitor(request).opted_out:
        visitor = VisitorRef.from_request(request)  # opted-out visitors get non-personal slots only
    # A running experiment on this slot serves the visitor's variant recipe; items keep ``slot``.
    recommendations = recommend(visitor, recipe_for(slot, visitor), context or {}, limit)
    if not recommendations:
        return []
    adapter = get_adapter()
    pk_field = get_product_model()._meta.pk
    keys = [pk_field.to_python(rec.product_id) for rec in recommendations]
    products = adapter.queryset().in_bulk(keys)
    request_id = attribution.new_request_id()
    items: list[SlotItem] = []
    for rec, key in zip(recommendations, keys, strict=True):
        product = products.get(key)
        if product is None:  # deleted since the model was built
            continue
        position = len(items)
        token = attribution.sign(attribution.Token(slot, rec.source, position, rec.product_id, request_id))
        items.append(
            SlotItem(
                product=product,
                product_id=rec.product_id,
                title=adapter.title(product),
                url=_with_token(adapter.url(product), token),
                image_url=adapter.image_url(product),
                price=adapter.price(product),
                score=rec.score,
                reason=rec.reason,
                reason_code=rec.reason_code,
                source=rec.source,
                slot=slot,
                position=position,
                token=token,
            )
        )
    return items
