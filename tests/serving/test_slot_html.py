"""The slot tags write ``recommendations/slot.html``'s markup directly (the template engine cost
more than the page around three slots): the direct writer must give exactly the template's bytes,
and a project that overrides the template (or passes ``template=``) must get its own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from recommendations.serving.render import SlotItem
from recommendations.templatetags import slot_markup as tags


def _item(n: int, **fields) -> SlotItem:
    values = {
        "product_id": f"p{n}",
        "title": f"Product {n}",
        "url": f"/p/{n}/?rec=t{n}%3Ax",
        "image_url": f"/media/{n}.jpg",
        "price": Decimal("4499.5"),
        "score": 1.0,
        "reason": "Because you viewed Boots",
        "reason_code": "viewed",
        "source": "stan",
        "slot": "for_you",
        "position": n,
        "token": f"t{n}:x",
    }
    values.update(fields)
    return SlotItem(**values)


CASES = {
    "plain": ([_item(0), _item(1)], "Recommended for you", True),
    "hostile text is escaped": (
        [_item(0, title='<script>alert("x")</script> & co', reason='It\'s "great" <b>', url="/p/?a=1&b=2")],
        "Tom & Jerry's <picks>",
        True,
    ),
    "no image, no price, no title, no reasons": (
        [_item(0, image_url=None, price=None), _item(1, image_url="")],
        "",
        False,
    ),
    "zero price and a large position": ([_item(1234, price=Decimal("0"))], "Trending", True),
    "a lazy title": ([_item(0)], Decimal("3"), True),
    "values that are not plain strings": ([_item(0, title=Decimal("7"), reason=3, product_id=12)], "T", True),
}


@pytest.mark.parametrize("case", CASES)
def test_slot_html_matches_the_template(case, settings):
    items, title, show_reason = CASES[case]
    for currency in ("", "EUR"):
        settings.RECOMMENDATIONS_CURRENCY = currency
        expected = render_to_string(
            tags.DEFAULT_TEMPLATE,
            {"slot": "for_you", "title": title, "items": items, "show_reason": show_reason},
        )
        assert tags.slot_html("for_you", title, items, show_reason) == expected


def test_slot_html_matches_the_template_with_grouped_numbers(settings):
    """Positions go through localize() as the template's do (grouped when the project says so),
    and the markup cached per row follows a settings change."""
    items = [_item(1234), _item(7)]
    for grouped in (False, True):
        settings.USE_THOUSAND_SEPARATOR = grouped
        expected = render_to_string(
            tags.DEFAULT_TEMPLATE, {"slot": "for_you", "title": "T", "items": items, "show_reason": True}
        )
        assert tags.slot_html("for_you", "T", items, True) == expected
    assert "1,234" in expected


def test_the_app_template_is_recognised_as_its_own():
    assert tags.default_template_is_ours()
