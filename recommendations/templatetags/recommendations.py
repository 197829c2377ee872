"""Template tags: ``{% load recommendations %}``.

Each slot tag works two ways::

    {% for_you limit=8 %}                         renders recommendations/slot.html
    {% for_you limit=8 template="shop/row.html" %}
    {% for_you limit=8 as items %}{% for item in items %}...{% endfor %}

Tags never break a page: on an internal error they log it and render nothing (or give ``[]``).
"""

from __future__ import annotations

import logging
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from recommendations.serving.render import SlotItem, slot_items

logger = logging.getLogger(__name__)
register = template.Library()

DEFAULT_TEMPLATE = "recommendations/slot.html"
TITLES = {
    "for_you": "Recommended for you",
    "similar": "Similar products",
    "bought_together": "Frequently bought together",
    "cart": "Complete your cart",
    "trending": "Trending now",
    "recently_viewed": "Recently viewed",
    "search": "You may also like",
}


def _one_id(value: Any) -> str:
    """A product id from a product, a SlotItem, or an id."""
    if hasattr(value, "pk"):
        return str(value.pk)
    return str(getattr(value, "product_id", value))


def _ids(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str | int) or hasattr(value, "pk") or hasattr(value, "product_id"):
        value = [value]
    return [_one_id(v) for v in value]


def _category_key(value: Any) -> str:
    """A category object is named the way the product adapter names categories."""
    if hasattr(value, "pk"):
        from recommendations.catalogue.products import get_adapter

        return get_adapter().category_key(value)
    return str(value)


def _items(ctx: template.Context, slot: str, context: dict[str, Any], limit: int | None) -> list[SlotItem]:
    try:
        return slot_items(ctx.get("request"), slot, context=context, limit=limit)
    except Exception:  # a slot must never break the page it sits on
        logger.exception("Recommendation slot %r failed to render", slot)
        return []


def _render(ctx: template.Context, slot: str, items: list[SlotItem], options: dict[str, Any]) -> SafeString:
    if not items:
        return mark_safe("")
    try:
        return mark_safe(  # noqa: S308 - output of the template engine, autoescaped
            render_to_string(
                options.get("template") or DEFAULT_TEMPLATE,
                {
                    "slot": slot,
                    "title": options.get("title") or TITLES.get(slot, ""),
                    "items": items,
                    "show_reason": options.get("show_reason", True),
                },
                request=ctx.get("request"),
            )
        )
    except Exception:
        logger.exception("Recommendation slot %r failed to render", slot)
        return mark_safe("")


def _context_from(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the recommendation context (product, cart, ...) out of the tag's keyword arguments."""
    context: dict[str, Any] = {}
    product = kwargs.pop("product", None)
    if product not in (None, ""):
        context["product"] = _one_id(product)
    category = kwargs.pop("category", None)
    if category not in (None, ""):
        context["category"] = _category_key(category)
    for key in ("cart", "exclude"):
        if key in kwargs:
            context[key] = _ids(kwargs.pop(key))
    for key in ("query", "min_price", "max_price"):
        value = kwargs.pop(key, None)
        if value not in (None, ""):
            context[key] = value
    return context


class SlotNode(template.Node):
    def __init__(
        self, slot: Any, positional: tuple[str, ...], args: list, kwargs: dict, as_var: str | None
    ) -> None:
        self.slot, self.positional, self.args, self.kwargs, self.as_var = (
            slot,
            positional,
            args,
            kwargs,
            as_var,
        )

    def render(self, context: template.Context) -> str:
        slot = self.slot if isinstance(self.slot, str) else str(self.slot.resolve(context))
        kwargs = {key: value.resolve(context) for key, value in self.kwargs.items()}
        for name, arg in zip(self.positional, self.args, strict=False):
            kwargs.setdefault(name, arg.resolve(context))
        limit = kwargs.pop("limit", None)
        items = _items(context, slot, _context_from(kwargs), int(limit) if limit else None)
        if self.as_var:
            context[self.as_var] = items
            return ""
        return _render(context, slot, items, kwargs)


def _parse(parser: template.base.Parser, token: template.base.Token) -> tuple[list, dict, str | None]:
    bits = token.split_contents()
    name, bits = bits[0], bits[1:]
    as_var = None
    if len(bits) >= 2 and bits[-2] == "as":
        as_var, bits = bits[-1], bits[:-2]
    args, kwargs = [], {}
    for bit in bits:
        match = template.base.kwarg_re.match(bit)
        if match and match.group(1):
            kwargs[match.group(1)] = parser.compile_filter(match.group(2))
        elif kwargs:
            raise template.TemplateSyntaxError(
                f"{name!r}: positional argument {bit!r} after keyword arguments"
            )
        else:
            args.append(parser.compile_filter(bit))
    return args, kwargs, as_var


def _register(name: str, slot: str, positional: tuple[str, ...] = ()) -> None:
    def compile_tag(parser: template.base.Parser, token: template.base.Token) -> SlotNode:
        args, kwargs, as_var = _parse(parser, token)
        if len(args) > len(positional):
            raise template.TemplateSyntaxError(
                f"{name!r} takes at most {len(positional)} positional argument(s)"
            )
        return SlotNode(slot, positional, args, kwargs, as_var)

    register.tag(name, compile_tag)


# {% for_you %}, {% similar_products product %}, {% bought_together product %},
# {% complete_cart cart %}, {% trending [category=...] %}, {% recently_viewed %},
# {% search_recommendations query %}
_register("for_you", "for_you")
_register("similar_products", "similar", ("product",))
_register("bought_together", "bought_together", ("product",))
_register("complete_cart", "cart", ("cart",))
_register("trending", "trending")
_register("recently_viewed", "recently_viewed")
_register("search_recommendations", "search", ("query",))


@register.tag("recommendation_slot")
def recommendation_slot(parser: template.base.Parser, token: template.base.Token) -> SlotNode:
    """``{% recommendation_slot "name" [product=..] [cart=..] [limit=..] [as items] %}`` for any
    recipe in ``RECOMMENDATIONS_SLOTS``."""
    args, kwargs, as_var = _parse(parser, token)
    if len(args) != 1:
        raise template.TemplateSyntaxError(
            "'recommendation_slot' takes the slot name as its one positional argument"
        )
    return SlotNode(args[0], (), [], kwargs, as_var)


@register.inclusion_tag("recommendations/beacon.html", takes_context=True)
def recommendations_beacon(context: template.Context) -> dict[str, Any]:
    """The tiny, dependency-free impression beacon: put it once at the end of the page."""
    from django.urls import NoReverseMatch, reverse

    try:
        endpoint = reverse("recommendations:events")
    except NoReverseMatch:
        endpoint = ""
    return {"endpoint": endpoint}
