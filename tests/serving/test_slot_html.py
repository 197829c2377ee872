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


def _row(n: int, **fields):
    from recommendations.serving.page import Row

    item = _item(n, **fields)
    return Row(
        item.product_id, item.title, fields.get("url", f"/p/{n}/"), item.image_url, item.price, item.score,
        item.reason, item.reason_code, item.source,
    )  # fmt: skip


ROW_CASES = {
    "plain": ("for_you", [_row(0), _row(1, url="/p/1/?colour=red&size=9")], "Recommended for you", True),
    "no URL, no image, no price, no reasons": (
        "for_you",
        [_row(0, url="", image_url=None, price=None), _row(1, image_url="")],
        "",
        False,
    ),
    "hostile text is escaped": (
        "for_you",
        [_row(0, title='<script>alert("x")</script> & co', reason='It\'s "great" <b>', url="/p/?a=1&b=2")],
        "Tom & Jerry's <picks>",
        True,
    ),
    # tokens that are not plain: their product id (and a source name) need escaping in both places
    "odd product ids and sources": (
        "for_you",
        [_row(0, product_id="a b&c<d>é/?#", source="src&<x>"), _row(1, product_id="p:1+2")],
        "T",
        True,
    ),
    "a slot name with a tilde (the older token format)": ("odd~slot", [_row(0), _row(1)], "T", True),
    "values that are not plain strings": ("for_you", [_row(0, title=Decimal("7"), reason=3)], "T", True),
    "a large position": ("trending", [_row(n) for n in range(1, 13)], "Trending", True),
}


@pytest.mark.parametrize("case", ROW_CASES)
def test_page_slot_html_matches_slot_html(case, settings):
    """The tags write a slot from its cached rows and the render's tokens without making the
    items: byte for byte what slot_html writes from the items (and so what the template does)."""
    from recommendations.serving import page
    from recommendations.serving.render import PageSlot

    slot, rows, title, show_reason = ROW_CASES[case]
    for currency, grouped in (("", False), ("EUR", True)):
        settings.RECOMMENDATIONS_CURRENCY = currency
        settings.USE_THOUSAND_SEPARATOR = grouped
        # as the tags get a slot: read from a cached payload (rows that can be cached: plain values)
        cached = all(type(row.title) is str and type(row.reason) is str for row in rows)
        if cached:
            payload = page.encode([rows])
            page_slot = PageSlot(slot, page.decoded(payload)[0], "0123456789abcdef", (payload, 0))
        else:
            page_slot = PageSlot(slot, rows, "0123456789abcdef")
        expected = tags.slot_html(slot, title, page_slot.items, show_reason)
        assert tags.page_slot_html(page_slot, title, show_reason) == expected
        assert page_slot.items[1 if len(rows) > 1 else 0].token in expected


def test_a_cached_slot_is_written_from_its_compiled_rows(settings):
    """A slot read from a cached payload is written from markup kept per payload, its tokens signed
    from their frames: the same bytes as slot_html of its items, and the same tokens as sign_all."""
    from recommendations import attribution
    from recommendations.serving import page
    from recommendations.serving.render import PageSlot, sign_rows

    rows = [_row(0), _row(1, url="/p/1/?colour=red&size=9"), _row(2, url="", image_url=None, price=None)]
    odd = [_row(0, product_id="a b&c"), _row(1)]
    payload = page.encode([rows, odd])
    decoded = page.decoded(payload)
    for index, show_reason in ((0, True), (0, False), (1, True)):
        for grouped in (False, True):
            settings.USE_THOUSAND_SEPARATOR = grouped
            fast = PageSlot("for_you", decoded[index], "0123456789abcdef", (payload, index))
            html = tags.page_slot_html(fast, "T", show_reason)
            slow = sign_rows("for_you", decoded[index], "0123456789abcdef")
            # the same signed text (the stamp and signature may fall in another second)
            assert [t.rsplit(":", 2)[0] for t in fast.tokens] == [t.rsplit(":", 2)[0] for t in slow]
            assert [attribution.unsign(t) for t in fast.tokens] == [attribution.unsign(t) for t in slow]
            assert html == tags.slot_html("for_you", "T", fast.items, show_reason)
    assert tags._compiled(payload, 0, "for_you", True) is not None
    assert tags._compiled(payload, 1, "for_you", True) is None  # a token that needs escaping
