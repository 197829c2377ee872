"""The for-you request's fast paths give what the slow ones gave: cached display fields with a
lazy product, direct response dicts, the query fast path, compact tokens; and for_you leaves the
visitor's most recent products to the recently-viewed slot."""

from __future__ import annotations

import uuid

import pytest
from django.core import signing
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from recommendations import attribution
from recommendations.api.slots import (
    RecommendedItemSerializer,
    SlotQuerySerializer,
    item_dicts,
    slot_query,
)
from recommendations.serving import recommend
from recommendations.serving.render import slot_items
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training


@pytest.fixture
def trained(shop):
    visitors = shop.history()
    training.rebuild()
    return shop, visitors


def _viewer(shop, items) -> Subject:
    visitor = uuid.uuid4()
    import_events([shop.event("view", item, visitor) for item in items])
    return Subject(None, visitor)


def test_slot_items_cost_no_query_and_the_product_one_query_for_the_whole_slot(
    trained, django_assert_num_queries, settings
):
    shop, _ = trained
    settings.RECOMMENDATIONS_MODEL_CHECK_SECONDS = 3600  # no version re-check inside the count
    visitor = _viewer(shop, shop.b[:2])
    slot_items(None, "for_you", visitor=visitor)  # warm the model and the product caches
    with django_assert_num_queries(0):
        items = slot_items(None, "for_you", visitor=visitor, limit=4)
        titles = [item.title for item in items]
    assert len(items) == 4
    with django_assert_num_queries(1):
        products = [item.product for item in items]
    assert [str(p.pk) for p in products] == [item.product_id for item in items]
    assert titles == [p.name for p in products]
    assert [item.price for item in items] == [p.price for p in products]


def test_saving_a_product_refreshes_its_cached_title(trained):
    shop, _ = trained
    visitor = _viewer(shop, shop.b[:2])
    first = slot_items(None, "for_you", visitor=visitor, limit=3)[0]
    product = first.product
    product.name = "Renamed pan"
    product.save()
    again = slot_items(None, "for_you", visitor=visitor, limit=3)
    assert {item.product_id: item.title for item in again}[first.product_id] == "Renamed pan"


def test_response_dicts_equal_the_serializer(trained):
    shop, _ = trained
    items = slot_items(None, "for_you", visitor=_viewer(shop, shop.a[:2]), limit=6)
    assert items
    assert item_dicts(items) == RecommendedItemSerializer(items, many=True).data


@pytest.mark.parametrize(
    "query",
    [
        "",
        "limit=7",
        "limit=050",
        "limit=",
        "category=&exclude=",
        "limit=0",
        "limit=51",
        "limit=1.0",
        "limit=%201",
        "limit=x",
        "category=kitchen&exclude=a,b,%20c&slot=for_you&user=5",
        "category=%20kitchen",
        "category=%20",
        "slot=" + "x" * 65,
        "exclude=" + "x" * 2001,
        "category=a%00b",
        "limit=3&limit=4",
        "unknown=1",
    ],
)
def test_query_fast_path_equals_the_serializer(query):
    params = QueryDict(query)
    serializer = SlotQuerySerializer(data=params)
    if serializer.is_valid():
        assert slot_query(params) == dict(serializer.validated_data)
    else:
        with pytest.raises(ValidationError) as error:
            slot_query(params)
        assert error.value.detail == serializer.errors


def test_tokens_round_trip_reject_tampering_and_read_the_old_format():
    token = attribution.Token("for_you", "itemknn", 3, "odd~id:with|chars", "0123456789abcdef")
    signed = attribution.sign(token)
    assert attribution.unsign(signed) == token
    for forged in (signed[:-2] + ("AA" if signed[-2:] != "AA" else "BB"), signed.replace("~3~", "~4~"), "x"):
        with pytest.raises(signing.BadSignature):
            attribution.unsign(forged)
    old = signing.dumps(["for_you", "als", 1, "42", "r"], salt=attribution.SALT, compress=True)
    assert attribution.unsign(old) == attribution.Token("for_you", "als", 1, "42", "r")
    odd = attribution.Token("a~b", "als", 0, "1", "r")  # a separator in a name: the old format
    assert attribution.unsign(attribution.sign(odd)) == odd


def test_for_you_leaves_the_most_recent_products_to_recently_viewed(trained, settings):
    shop, _ = trained
    viewed = shop.b[:3]
    visitor = _viewer(shop, viewed)
    recent = {str(item.pk) for item in viewed}
    shown = [r.product_id for r in recommend(visitor, "for_you", limit=5)]
    assert len(shown) == 5
    assert not recent & set(shown)
    assert recent == {r.product_id for r in recommend(visitor, "recently_viewed")}
    # only the N most recent are left out: with N=1 the older two compete again
    settings.RECOMMENDATIONS_SLOTS = {"home_one": {"sources": {"itemknn": 1.0}, "exclude_recent": 1}}
    one = {r.product_id for r in recommend(visitor, "home_one", limit=8)}
    assert str(viewed[-1].pk) not in one
    assert one & {str(viewed[0].pk), str(viewed[1].pk)}
