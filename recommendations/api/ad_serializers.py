from __future__ import annotations

from rest_framework import serializers


class AdItemSerializer(serializers.Serializer):
    """One served ad. Render ``label`` visibly next to it and link it only through ``click_url``."""

    campaign_id = serializers.IntegerField()
    label = serializers.CharField(help_text='Always "Sponsored": show it.')
    title = serializers.CharField()
    image = serializers.CharField(source="image_url", allow_null=True)
    click_url = serializers.CharField(help_text="Signed redirect to the campaign's target; counts the click.")
    product_id = serializers.CharField(allow_null=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    position = serializers.IntegerField()


class AdQuerySerializer(serializers.Serializer):
    """Where the ad slot is shown (targeting context)."""

    limit = serializers.IntegerField(min_value=1, max_value=10, default=1)
    category = serializers.CharField(required=False, max_length=64, help_text="The page's category id.")
    product = serializers.CharField(required=False, max_length=64, help_text="The product page's product id.")
    query = serializers.CharField(
        required=False, max_length=200, help_text="The search query on a search page."
    )

    def context_dict(self) -> dict[str, str]:
        return {
            key: self.validated_data[key]
            for key in ("category", "product", "query")
            if self.validated_data.get(key)
        }


class AdSlotResponseSerializer(serializers.Serializer):
    slot = serializers.CharField()
    results = AdItemSerializer(many=True)
