from __future__ import annotations

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
        data = self.validated_data
        context: dict[str, Any] = {}
        if data.get("category"):
            context["category"] = data["category"]
        if data.get("exclude"):
            context["exclude"] = [part.strip() for part in data["exclude"].split(",") if part.strip()]
        return context


class SlotResponseSerializer(serializers.Serializer):
    slot = serializers.CharField()
    results = RecommendedItemSerializer(many=True)
