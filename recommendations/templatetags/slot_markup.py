"""``recommendations/slot.html``'s markup written directly, for the slot tags: the template engine
spent ~0.1 ms per item on it, which made three slots cost more than the page around them. Used
only while that template is the app's own (no project override); ``tests/serving/test_slot_html.py``
keeps the two byte-identical. Not a tag library (no ``register``)."""

from __future__ import annotations

import functools
import html
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.template.loader import get_template
from django.utils.formats import localize
from django.utils.html import conditional_escape

from recommendations import attribution
from recommendations.catalogue.money import money
from recommendations.serving.page import Row, decoded
from recommendations.serving.render import PLAIN_TOKEN, PageSlot, SlotItem, with_token

DEFAULT_TEMPLATE = "recommendations/slot.html"
_OWN_TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / DEFAULT_TEMPLATE


@functools.cache
def default_template_is_ours() -> bool:
    """Whether ``recommendations/slot.html`` resolves to this app's own file (no project override),
    rendered by Django's engine with autoescaping: then :func:`slot_html` may stand in for it."""
    found = get_template(DEFAULT_TEMPLATE)
    engine = getattr(getattr(found, "template", None), "engine", None)
    origin = getattr(getattr(found, "origin", None), "name", None)
    return bool(
        engine is not None and engine.autoescape and origin and Path(origin).resolve() == _OWN_TEMPLATE
    )


def _forget_template_choice(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TEMPLATES", "INSTALLED_APPS"):
        default_template_is_ours.cache_clear()
    _item_parts.cache_clear()  # the currency, number formats: any setting may change the markup
    _link_head.cache_clear()
    _compiled.cache_clear()


setting_changed.connect(_forget_template_choice)


def _v(value: Any) -> str:
    """What ``{{ value }}`` writes in an autoescaped template (a plain ``str`` is escaped the way
    ``django.utils.html.escape`` does, without its SafeString round trip)."""
    if type(value) is str:
        return html.escape(value)
    if type(value) is int and (0 <= value < 10 or not settings.USE_THOUSAND_SEPARATOR):
        return str(value)  # what localize() gives an int without grouping (a position)
    return conditional_escape(localize(value))


@functools.lru_cache(maxsize=8192)
def _item_parts(
    slot: str,
    product_id: str,
    source: str,
    reason: str,
    show_reason: bool,
    image_url: str | None,
    title: str,
    price: Decimal | None,
) -> tuple[str, str, str]:
    """An item's markup around its per-request parts (token, position, URL with the token), which
    depends only on the cached row: worked out once per row, not on every page. Cleared with the
    settings (``money`` reads the currency, ``_v`` the number formats)."""
    after_token = f'" data-rec-product="{_v(product_id)}" data-rec-slot="{_v(slot)}" data-rec-position="'
    after_position = f'" data-rec-source="{_v(source)}"' + (f' title="{_v(reason)}"' if show_reason else "")
    tail = ['" class="rec-item__link">\n        ']
    if image_url:
        tail.append(
            f'<img class="rec-item__image" src="{_v(image_url)}" alt="" loading="lazy"'
            ' width="160" height="160">'
        )
    tail.append(f'\n        <span class="rec-item__title">{_v(title)}</span>\n        ')
    if price is not None:
        tail.append(f'<span class="rec-item__price">{_v(money(price))}</span>')
    tail.append("\n      </a>\n      ")
    if show_reason:
        tail.append(f'<span class="rec-item__reason">{_v(reason)}</span>')
    tail.append("\n    </li>")
    return after_token, after_position + '>\n      <a href="', "".join(tail)


def _plain(values: SlotItem | Row) -> bool:
    """Plain values only (as the cached rows hold): a lazy translation or a model instance is
    written afresh every time."""
    return (
        type(values.product_id) is str
        and type(values.title) is str
        and type(values.reason) is str
        and type(values.source) is str
        and (values.image_url is None or type(values.image_url) is str)
        and (values.price is None or type(values.price) is Decimal)
    )


def _opening(slot: str, title: Any) -> list[str]:
    """The slot's markup before its first item."""
    out = [f'<section class="rec-slot rec-slot--{_v(slot)}" data-rec-slot="{_v(slot)}">\n  ']
    if title:
        out.append(f'<h2 class="rec-slot__title">{_v(title)}</h2>')
    out.append('\n  <ul class="rec-slot__items">\n    ')
    return out


def slot_html(slot: str, title: Any, items: list[SlotItem], show_reason: Any) -> str:
    """Exactly what ``recommendations/slot.html`` renders, written directly: the template engine
    spends ~0.1 ms per item on this, which made three slots cost more than the page around them.
    ``test_slot_html_matches_the_template`` keeps the two identical."""
    out = _opening(slot, title)
    for item in items:
        fields = (item.slot, item.product_id, item.source, item.reason, bool(show_reason))
        fields += (item.image_url, item.title, item.price)
        parts = (
            _item_parts(*fields)
            if type(item.slot) is str and _plain(item)
            else _item_parts.__wrapped__(*fields)
        )
        out += [
            '<li class="rec-item" data-rec-token="',
            _v(item.token),
            parts[0],
            _v(item.position),
            parts[1],
            _v(item.url),
            parts[2],
        ]
    out.append("\n  </ul>\n</section>\n")
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def _link_head(url: str) -> str:
    """``_v(with_token(url, token))`` up to the token's value (a plain token follows as is)."""
    return _v(with_token(url, "x"))[:-1]


@functools.lru_cache(maxsize=4096)
def _compiled(payload: str, index: int, slot: str, show_reason: bool) -> tuple[tuple[str, ...], ...] | None:
    """Per row of slot ``index`` of a cached ``payload``: its token frame and the markup around the
    token, worked out once per payload (None when a token would need escaping or the older format:
    those are written item by item)."""
    out = []
    for position, row in enumerate(decoded(payload)[index]):
        frame = attribution.token_frame(slot, row.source, position, row.product_id)
        if frame is None or not PLAIN_TOKEN.fullmatch(frame[0] + frame[1]) or not _plain(row):
            return None
        fields = (
            slot,
            row.product_id,
            row.source,
            row.reason,
            show_reason,
            row.image_url,
            row.title,
            row.price,
        )
        after_token, after_position, tail = _item_parts(*fields)
        out.append(
            (
                *frame,
                after_token + _v(position) + after_position,
                _link_head(row.url) if row.url else "",
                tail,
            )
        )
    return tuple(out)


def page_slot_html(page_slot: PageSlot, title: Any, show_reason: Any) -> str:
    """``slot_html(slot, title, page_slot.items, show_reason)``, written from the markup kept per
    cached payload and the render's tokens, without making the items
    (``test_page_slot_html_matches_slot_html``); a slot whose tokens or values need escaping is
    written from its items."""
    slot, request_id, reasons = page_slot.slot, page_slot.request_id, bool(show_reason)
    compiled = None
    plain_id = attribution.SEP not in request_id and PLAIN_TOKEN.fullmatch(request_id) is not None
    if page_slot.source is not None and type(slot) is str and plain_id:
        compiled = _compiled(*page_slot.source, slot, reasons)
    if compiled is None:
        return slot_html(slot, title, page_slot.items, show_reason)
    tokens = page_slot.tokens_from([(head, tail) for head, tail, *_ in compiled])
    out = _opening(slot, title)
    for (_head, _tail, around, link_head, rest), token in zip(compiled, tokens, strict=True):
        link = link_head + token.replace(":", "%3A") if link_head else ""
        out += ['<li class="rec-item" data-rec-token="', token, around, link, rest]
    out.append("\n  </ul>\n</section>\n")
    return "".join(out)
