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
from django.template import defaulttags, loader_tags
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from recommendations.serving import slots
from recommendations.serving.page import SlotSpec
from recommendations.serving.render import PageSlot, page_slots
from recommendations.templatetags.slot_markup import (
    DEFAULT_TEMPLATE,
    default_template_is_ours,
    page_slot_html,
)

logger = logging.getLogger(__name__)
register = template.Library()

TITLES = {
    "for_you": "Recommended for you",
    "similar": "Similar products",
    "bought_together": "Frequently bought together",
    "cart": "Complete your cart",
    "trending": "Trending now",
    "recently_viewed": "Recently viewed",
    "search": "You may also like",
    "buy_again": "Buy again",
    "browsed_not_bought": "Still thinking about it?",
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


# Nodes whose children always render with them: a slot tag reached only through these is
# certainly on the page (one inside {% if %} or {% for %} may not be, or may differ per pass).
_ALWAYS_RENDERED = (
    loader_tags.BlockNode,
    defaulttags.WithNode,
    defaulttags.SpacelessNode,
    defaulttags.AutoEscapeControlNode,
    defaulttags.FilterNode,
)
_PAGE_ATTR = "recommendations.page"


def _page_slot_nodes(nodelist: template.NodeList) -> list[SlotNode]:
    """The slot tags of a template that certainly render, in page order."""
    found: list[SlotNode] = []
    for node in nodelist:
        if isinstance(node, SlotNode):
            found.append(node)
        elif isinstance(node, _ALWAYS_RENDERED):
            for attr in node.child_nodelists:
                found += _page_slot_nodes(getattr(node, attr, None) or [])
    return found


class _Page:
    """One page render's slots: computed together on the first slot tag, handed out per tag."""

    def __init__(self) -> None:
        self.ready: dict[int, tuple[SlotSpec, PageSlot]] = {}
        self.shown: list[str] = []
        self.started = False


def _page(ctx: template.Context) -> _Page:
    """The page of this template render (an ``{% include %}``d template is a page of its own)."""
    page = ctx.render_context.get(_PAGE_ATTR)
    if page is None:
        page = ctx.render_context[_PAGE_ATTR] = _Page()
    return page


def _joins_dedup(slot: str) -> bool:
    try:
        return bool(slots.option(slot, "page_dedup"))
    except ValueError:  # an unknown slot: page_items reports it
        return False


def _items(ctx: template.Context, node: SlotNode, spec: SlotSpec) -> PageSlot:
    """The node's slot: from the page's one-pass computation when the node was part of it, else
    computed alone, without the products earlier slots of the page already show."""
    try:
        page = _page(ctx)
        if not page.started:
            page.started = True
            nodes = _page_slot_nodes(ctx.template.nodelist) if ctx.template is not None else []
            if node in nodes:
                specs = [(other, other.spec(ctx) if other is not node else spec) for other in nodes]
                specs = [(other, s) for other, s in specs if s is not None]
                pages = page_slots(ctx.get("request"), [s for _, s in specs])
                page.ready = {id(other): (s, found) for (other, s), found in zip(specs, pages, strict=True)}
        ready = page.ready.pop(id(node), None)
        if ready is not None and ready[0] == spec:
            found = ready[1]
        else:
            joins = _joins_dedup(spec.slot)
            if page.shown and joins:
                exclude = [*spec.context.get("exclude", []), *page.shown]
                spec = SlotSpec(spec.slot, {**spec.context, "exclude": exclude}, spec.limit)
            found = page_slots(ctx.get("request"), [spec])[0]
        if _joins_dedup(spec.slot):
            page.shown += found.product_ids
        return found
    except Exception:  # a slot must never break the page it sits on
        logger.exception("Recommendation slot %r failed to render", spec.slot)
        return PageSlot(spec.slot, (), "")


def _render(ctx: template.Context, slot: str, found: PageSlot, options: dict[str, Any]) -> SafeString:
    if not found.rows:
        return mark_safe("")
    try:
        title = options.get("title") or TITLES.get(slot, "")
        show_reason = options.get("show_reason", True)
        if not options.get("template") and default_template_is_ours():
            return mark_safe(page_slot_html(found, title, show_reason))  # noqa: S308 - every value escaped
        return mark_safe(  # noqa: S308 - output of the template engine, autoescaped
            render_to_string(
                options.get("template") or DEFAULT_TEMPLATE,
                {
                    "slot": slot,
                    "title": title,
                    "items": found.items,
                    "show_reason": show_reason,
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

    def _resolve(self, context: template.Context) -> tuple[SlotSpec, dict[str, Any]]:
        slot = self.slot if isinstance(self.slot, str) else str(self.slot.resolve(context))
        kwargs = {key: value.resolve(context) for key, value in self.kwargs.items()}
        for name, arg in zip(self.positional, self.args, strict=False):
            kwargs.setdefault(name, arg.resolve(context))
        limit = kwargs.pop("limit", None)
        spec = SlotSpec(slot, _context_from(kwargs), int(limit) if limit else None)
        return spec, kwargs  # what is left: rendering options (template, title, show_reason)

    def spec(self, context: template.Context) -> SlotSpec | None:
        """What this tag asks for in ``context`` (None if its arguments do not resolve there)."""
        try:
            return self._resolve(context)[0]
        except Exception:
            return None

    def render(self, context: template.Context) -> str:
        spec, options = self._resolve(context)
        found = _items(context, self, spec)
        if self.as_var:
            try:
                context[self.as_var] = found.items
            except Exception:  # a slot must never break the page it sits on
                logger.exception("Recommendation slot %r failed to render", spec.slot)
                context[self.as_var] = []
            return ""
        return _render(context, spec.slot, found, options)


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
# {% search_recommendations query %}, {% buy_again %}, {% browsed_not_bought %}
_register("for_you", "for_you")
_register("similar_products", "similar", ("product",))
_register("bought_together", "bought_together", ("product",))
_register("complete_cart", "cart", ("cart",))
_register("trending", "trending")
_register("recently_viewed", "recently_viewed")
_register("search_recommendations", "search", ("query",))
_register("buy_again", "buy_again")
_register("browsed_not_bought", "browsed_not_bought")


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
