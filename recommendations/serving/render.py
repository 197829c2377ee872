"""Read side for pages and the API: recommended products ready to render, and slot performance.

Template tags and API views call these; the serving core (``recommendations.serving``) decides
*which* products, this module reads their cached display fields, attaches signed tokens and links.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from recommendations import attribution
from recommendations.catalogue.products import get_adapter, get_product_model
from recommendations.serving.page import Row, SlotSpec, decoded, page_payload
from recommendations.subjects import Subject
from recommendations.tracking.middleware import TOKEN_PARAM
from recommendations.tracking.visitors import get_visitor, subject_of_request

logger = logging.getLogger(__name__)
#: a token (or a token's text) with nothing to escape in HTML, nor in a URL but its ":"
PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_.~:-]*")


class _SlotProducts:
    """The model instances behind one slot's items, loaded with one query for the whole slot the
    first time any item's ``product`` is read (templates showing only the cached display fields
    never pay for it)."""

    __slots__ = ("_ids", "_loaded")

    def __init__(self, ids: list[str]) -> None:
        self._ids = ids
        self._loaded: dict[str, Any] | None = None

    def get(self, product_id: str) -> Any:
        if self._loaded is None:
            to_python = get_product_model()._meta.pk.to_python
            keys = {to_python(pid): pid for pid in self._ids}
            found = get_adapter().queryset().in_bulk(list(keys))
            self._loaded = {keys[key]: product for key, product in found.items()}
        return self._loaded.get(product_id)


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


def with_token(url: str, token: str) -> str:
    """``url`` carrying ``token`` in its query string (what a click on the item sends back)."""
    if not url:
        return url
    separator = "&" if "?" in url else "?"
    # what urlencode({TOKEN_PARAM: token}) gives; a usual token only needs its ":" escaped
    value = token.replace(":", "%3A") if PLAIN_TOKEN.fullmatch(token) else quote_plus(token)
    return f"{url}{separator}{TOKEN_PARAM}={value}"


def _visitor_of(request: Any, visitor: Subject | None) -> Subject | None:
    if visitor is None and request is not None and not get_visitor(request).opted_out:
        visitor = subject_of_request(request)  # opted-out visitors get non-personal slots only
    return visitor


def sign_rows(slot: str, rows: Sequence[Row], request_id: str) -> list[str]:
    """The signed token of each row at its position, for one render (``request_id``)."""
    return attribution.sign_all(
        [attribution.Token(slot, row.source, n, row.product_id, request_id) for n, row in enumerate(rows)]
    )


def items_of(
    slot: str, rows: Sequence[Row], request_id: str, tokens: Sequence[str] | None = None
) -> list[SlotItem]:
    """A slot's rows as rendered items, each with a freshly signed token (``tokens``, when the
    render already signed them)."""
    products = _SlotProducts([row.product_id for row in rows])
    if tokens is None:
        tokens = sign_rows(slot, rows, request_id)
    items: list[SlotItem] = []
    for position, row in enumerate(rows):
        token = tokens[position]
        items.append(
            SlotItem(
                product_id=row.product_id,
                title=row.title,
                url=with_token(row.url, token),
                image_url=row.image_url,
                price=row.price,
                score=row.score,
                reason=row.reason,
                reason_code=row.reason_code,
                source=row.source,
                slot=slot,
                position=position,
                token=token,
                _products=products,
                _key=row.product_id,
            )
        )
    return items


class PageSlot:
    """One slot of a page render: its rows (shared with the slot cache's other readers), their
    tokens signed once for this render, and the items made from them only when something reads
    them (a project template, ``as``); the app's own markup is written from the rows."""

    __slots__ = ("_items", "_tokens", "request_id", "rows", "slot", "source")

    def __init__(
        self, slot: str, rows: Sequence[Row], request_id: str, source: tuple[str, int] | None = None
    ) -> None:
        self.slot, self.rows, self.request_id = slot, rows, request_id
        # (the cached payload, this slot's index in it): what the rows were decoded from, so that
        # work that depends only on them can be kept per payload (the markup around the tokens)
        self.source = source
        self._tokens: list[str] | None = None
        self._items: list[SlotItem] | None = None

    @property
    def product_ids(self) -> list[str]:
        return [row.product_id for row in self.rows]

    @property
    def tokens(self) -> list[str]:
        if self._tokens is None:
            self._tokens = sign_rows(self.slot, self.rows, self.request_id)
        return self._tokens

    def tokens_from(self, frames: Sequence[tuple[str, str]]) -> list[str]:
        """:attr:`tokens`, signed from the rows' token frames (:func:`attribution.token_frame`,
        worked out beforehand) when this render has not signed them yet: the same strings."""
        if self._tokens is None:
            self._tokens = attribution.sign_frames(frames, self.request_id)
        return self._tokens

    @property
    def items(self) -> list[SlotItem]:
        if self._items is None:
            self._items = items_of(self.slot, self.rows, self.request_id, self.tokens)
        return self._items


def page_slots(request: Any, specs: list[SlotSpec], *, visitor: Subject | None = None) -> list[PageSlot]:
    """Every slot of a page for the visitor behind ``request`` (or the explicit ``visitor``;
    neither, or a visitor who opted out: non-personal), computed together: a product shown by an
    earlier slot is not repeated by a later one. Served from the slot cache while the visitor's
    live state and the model are unchanged."""
    payload = page_payload(_visitor_of(request, visitor), specs, "rows")
    request_id = attribution.new_request_id()
    return [
        PageSlot(spec.slot, slot_rows, request_id, (payload, index))
        for index, (spec, slot_rows) in enumerate(zip(specs, decoded(payload), strict=True))
    ]


def page_items(
    request: Any, specs: list[SlotSpec], *, visitor: Subject | None = None
) -> list[list[SlotItem]]:
    """The items of every slot of a page (see :func:`page_slots`); reading an item's ``product``
    costs one query for the whole slot."""
    return [slot.items for slot in page_slots(request, specs, visitor=visitor)]


def slot_items(
    request: Any,
    slot: str,
    *,
    context: dict[str, Any] | None = None,
    limit: int | None = None,
    visitor: Subject | None = None,
) -> list[SlotItem]:
    """Recommended products of one slot (a page of one slot: see :func:`page_items`)."""
    return page_items(request, [SlotSpec(slot, dict(context or {}), limit)], visitor=visitor)[0]
