"""Sponsored slots: ``{% load recommendations_ads %}``.

``{% ad_slot "home" [limit=1] [category=..] [product=..] [query=..] [template=..] [as ads] %}``
    renders ``recommendations/ads/slot.html``: the ads with their "Sponsored" label, linked only
    through the signed click redirect. Serving an ad charges it, so render the tag once per page.

``{% blended_slot "for_you" ads="home" [max_share=0.25] [limit=8] [product=..] ... %}``
    one row of organic recommendations with sponsored products mixed in at
    ``ADS_SPONSORED_POSITIONS``, never more than ``max_share`` (default
    ``ADS_MAX_SPONSORED_SHARE``) of the row.

Like the recommendation tags, these never break a page: errors are logged and render nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from recommendations.ads.blending import blend
from recommendations.ads.serving import SPONSORED_LABEL, serve_ads
from recommendations.conf import app_settings
from recommendations.serving.render import slot_items
from recommendations.templatetags.recommendations import TITLES, _context_from, _parse

logger = logging.getLogger(__name__)
register = template.Library()


def _render(name: str, context: dict[str, Any], request: Any) -> SafeString:
    return mark_safe(render_to_string(name, context, request=request))  # noqa: S308 - autoescaped template


class AdSlotNode(template.Node):
    def __init__(self, slot: Any, kwargs: dict, as_var: str | None, blended: bool) -> None:
        self.slot, self.kwargs, self.as_var, self.blended = slot, kwargs, as_var, blended

    def render(self, context: template.Context) -> str:
        try:
            slot = str(self.slot.resolve(context))
            kwargs = {key: value.resolve(context) for key, value in self.kwargs.items()}
            return self._render(context, slot, kwargs)
        except Exception:  # an ad must never break the page it sits on
            logger.exception("Ad slot %r failed to render", self.slot)
            if self.as_var:
                context[self.as_var] = []
            return ""

    def _render(self, context: template.Context, slot: str, kwargs: dict[str, Any]) -> str:
        request = context.get("request")
        template_name = kwargs.pop("template", None)
        title = kwargs.pop("title", None)
        limit = int(kwargs.pop("limit", 0) or 0)
        ad_name = kwargs.pop("ads", None)
        max_share = float(kwargs.pop("max_share", app_settings.ADS_MAX_SPONSORED_SHARE))
        ctx = _context_from(kwargs)
        if not self.blended:
            items: list[Any] = serve_ads(request, slot, context=ctx, limit=limit or 1)
            name, data = template_name or "recommendations/ads/slot.html", {"slot": slot, "ads": items}
        else:
            limit = limit or app_settings.DEFAULT_LIMIT
            organic = slot_items(request, slot, context=ctx, limit=limit)
            most = max(1, int(limit * max_share))
            sponsored = (
                serve_ads(request, str(ad_name or slot), context=ctx, limit=most) if max_share > 0 else []
            )
            sponsored = [ad for ad in sponsored if ad.product_id is not None]  # banners are not items
            items = blend(
                organic,
                sponsored,
                limit=limit,
                max_share=max_share,
                positions=tuple(app_settings.ADS_SPONSORED_POSITIONS),
            )
            name = template_name or "recommendations/ads/blended.html"
            data = {"slot": slot, "items": items, "title": title or TITLES.get(slot, "")}
        if self.as_var:
            context[self.as_var] = items
            return ""
        return _render(name, {**data, "label": SPONSORED_LABEL}, request) if items else ""


def _compile(blended: bool):
    def compile_tag(parser: template.base.Parser, token: template.base.Token) -> AdSlotNode:
        args, kwargs, as_var = _parse(parser, token)
        if len(args) != 1:
            raise template.TemplateSyntaxError(
                f"{token.split_contents()[0]!r} takes the slot name as its one argument"
            )
        return AdSlotNode(args[0], kwargs, as_var, blended)

    return compile_tag


register.tag("ad_slot", _compile(blended=False))
register.tag("blended_slot", _compile(blended=True))
