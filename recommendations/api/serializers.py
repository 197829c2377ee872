from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from recommendations.api.schema import extend_schema_field
from recommendations.schema import EventIn

MAX_CONTEXT_BYTES = 2048


@extend_schema_field({"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]})
class FlexibleTimestampField(serializers.Field):
    """ISO 8601 with a timezone, or unix seconds."""

    default_error_messages = {"invalid": "Expected an ISO 8601 datetime with a timezone, or unix seconds."}

    def to_internal_value(self, data: Any) -> datetime:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | float):
            try:
                return datetime.fromtimestamp(float(data), tz=UTC)
            except (OverflowError, OSError, ValueError):
                self.fail("invalid")
        if isinstance(data, str):
            try:
                value = datetime.fromisoformat(data.replace("Z", "+00:00"))
            except ValueError:
                self.fail("invalid")
            if value.tzinfo is None:
                self.fail("invalid")
            return value
        self.fail("invalid")
        raise AssertionError  # unreachable: fail() raises

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class ProductIdField(serializers.Field):
    default_error_messages = {"invalid": "Expected a product id (string or integer)."}

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, str | int) or str(data) == "":
            self.fail("invalid")
        return str(data)

    def to_representation(self, value: Any) -> str:
        return str(value)


class EventSerializer(serializers.Serializer):
    """One client-side event. Unknown fields are rejected, so typos surface as errors."""

    kind = serializers.CharField(max_length=32)
    product = ProductIdField(required=False, allow_null=True)
    event_id = serializers.CharField(max_length=64, required=False)
    timestamp = FlexibleTimestampField(required=False)
    query = serializers.CharField(max_length=200, required=False, allow_blank=True)
    result_count = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, required=False, allow_null=True)
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    order_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    slot = serializers.CharField(max_length=64, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)
    token = serializers.CharField(max_length=512, required=False, allow_blank=True)
    context = serializers.DictField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(dict.fromkeys(unknown, "Unknown field."))
        return super().to_internal_value(data)

    def validate_context(self, value: dict) -> dict:
        if len(json.dumps(value, default=str)) > MAX_CONTEXT_BYTES:
            raise serializers.ValidationError(f"Context is larger than {MAX_CONTEXT_BYTES} bytes.")
        return value

    def to_event(self, data: dict[str, Any] | None = None) -> EventIn:
        """The validated data (``validated_data`` by default) as an :class:`EventIn`."""
        data = self.validated_data if data is None else data
        return EventIn(
            kind=data["kind"],
            product_id=data.get("product"),
            created_at=data.get("timestamp"),
            query=data.get("query", ""),
            result_count=data.get("result_count"),
            quantity=data.get("quantity"),
            unit_price=data.get("unit_price"),
            order_id=data.get("order_id", ""),
            slot=data.get("slot", ""),
            position=data.get("position"),
            token=data.get("token", ""),
            event_id=data.get("event_id"),
            context=data.get("context") or {},
        )


def flatten_errors(index: int, detail: Any) -> list[dict[str, Any]]:
    """DRF's nested error detail as a flat list of {index, field, message}."""
    if isinstance(detail, dict):
        return [
            {
                "index": index,
                "field": field,
                "message": " ".join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs])),
            }
            for field, msgs in detail.items()
        ]
    return [{"index": index, "field": "non_field_errors", "message": " ".join(str(m) for m in detail)}]


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored by this request.")
    duplicates = serializers.IntegerField(help_text="Retries of events already stored (same event_id).")
    skipped = serializers.CharField(required=False, help_text="Why nothing was stored, e.g. 'opted_out'.")


class ConsentSerializer(serializers.Serializer):
    opt_out = serializers.BooleanField()
