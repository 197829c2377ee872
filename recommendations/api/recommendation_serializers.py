"""Recommendation API serializers. The hot path (``for-you`` and friends) reads the query with
:func:`slot_query` and writes items with :func:`item_dicts`; both give exactly what the
serializers below give (which also describe the API in the OpenAPI schema) at a fraction of the
cost of instantiating DRF fields per request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from rest_framework import serializers


class RecommendedItemSerializer(serializers.Serializer):
    """One recommended product, ready to render."""

    product_id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(
        help_text="Product URL carrying the recommendation token (click attribution)."
    )
    image = serializers.CharField(source="image_url", allow_null=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    score = serializers.FloatField()
    reason = serializers.CharField(help_text="Why this item is shown, e.g. 'Because you viewed Tent'.")
    reason_code = serializers.CharField()
    source = serializers.CharField(help_text="The algorithm that produced the item.")
    position = serializers.IntegerField()
    token = serializers.CharField(
        help_text="Signed recommendation token; send it with impression/click events."
    )


class SlotQuerySerializer(serializers.Serializer):
    """Query parameters shared by the recommendation endpoints."""

    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    category = serializers.CharField(required=False, max_length=64)
    exclude = serializers.CharField(
        required=False, max_length=2000, help_text="Comma-separated product ids never to return."
    )
    slot = serializers.CharField(
        required=False, max_length=64, help_text="A slot recipe name (for-you only)."
    )
    user = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Read another user's recommendations (staff with the 'view_any_recommendations' permission).",
    )

    def context_dict(self) -> dict[str, Any]:
        return context_dict(self.validated_data)


def context_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The serving context of validated slot query data (category, exclude)."""
    context: dict[str, Any] = {}
    if data.get("category"):
        context["category"] = data["category"]
    if data.get("exclude"):
        context["exclude"] = [part.strip() for part in data["exclude"].split(",") if part.strip()]
    return context


_AWKWARD = re.compile(r"[\x00\ud800-\udfff]")


@cache
def _char_limits() -> dict[str, int]:
    fields = SlotQuerySerializer().fields
    return {
        name: field.max_length for name, field in fields.items() if isinstance(field, serializers.CharField)
    }


def _fast(params: Mapping[str, str]) -> dict[str, Any] | None:
    """The validated data of a plainly valid query, or ``None`` to let the serializer decide."""
    limit_field = SlotQuerySerializer._declared_fields["limit"]
    data: dict[str, Any] = {"limit": limit_field.default}
    raw_limit = params.get("limit", "")
    if raw_limit != "":
        if not (raw_limit.isascii() and raw_limit.isdigit()):
            return None
        limit = int(raw_limit)
        if not limit_field.min_value <= limit <= limit_field.max_value:
            return None
        data["limit"] = limit
    for name, max_length in _char_limits().items():
        value = params.get(name, "")
        if value == "":  # a blank optional parameter is no parameter (as in DRF's form parsing)
            continue
        if len(value) > max_length or value != value.strip() or _AWKWARD.search(value):
            return None
        data[name] = value
    return data


def slot_query(params: Mapping[str, str]) -> dict[str, Any]:
    """``SlotQuerySerializer(data=params)``'s validated data; raises its ``ValidationError``."""
    data = _fast(params)
    if data is not None:
        return data
    query = SlotQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


@cache
def _price_field() -> serializers.DecimalField:
    return RecommendedItemSerializer().fields["price"]


def item_dicts(items: Iterable[Any]) -> list[dict[str, Any]]:
    """``RecommendedItemSerializer(items, many=True).data`` built directly (same keys, order and
    value types; the price through the serializer's own DecimalField)."""
    price = _price_field().to_representation
    return [
        {
            "product_id": str(item.product_id),
            "title": str(item.title),
            "url": str(item.url),
            "image": None if item.image_url is None else str(item.image_url),
            "price": None if item.price is None else price(item.price),
            "score": float(item.score),
            "reason": str(item.reason),
            "reason_code": str(item.reason_code),
            "source": str(item.source),
            "position": int(item.position),
            "token": str(item.token),
        }
        for item in items
    ]


class SlotResponseSerializer(serializers.Serializer):
    slot = serializers.CharField()
    results = RecommendedItemSerializer(many=True)
