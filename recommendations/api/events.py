"""``POST events/``: the ingest endpoint, its serializers (the OpenAPI contract) and result.

The hot path parses with :mod:`.event_parsing` (same rules as :class:`EventSerializer`, no DRF
field machinery); the serializers describe the contract for the schema and third-party clients.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.api.authentication import BeaconSessionAuthentication
from recommendations.api.caching import PrivateResponses
from recommendations.api.errors import UniformErrors, error, error_response
from recommendations.api.event_parsing import parse_events
from recommendations.api.parsers import BoundedJSONParser
from recommendations.api.schema import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from recommendations.api.throttling import VisitorEventThrottle
from recommendations.conf import app_settings
from recommendations.ingest import backpressure
from recommendations.models import Event
from recommendations.schema import (
    MAX_CONTEXT_BYTES,
    MAX_PRODUCT_ID_LENGTH,
    EventIn,
    EventValidationError,
    context_problem,
    text_problem,
)
from recommendations.tracking.recorder import record
from recommendations.tracking.visitors import get_visitor, set_visitor_cookie


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
        if isinstance(data, str) and (len(data) > MAX_PRODUCT_ID_LENGTH or text_problem(data)):
            self.fail("invalid")
        return str(data)

    def to_representation(self, value: Any) -> str:
        return str(value)


class EventKindField(serializers.ChoiceField):
    """``kind``: one of ``API_EVENT_KINDS``. The choices are read from the setting on every use, so
    the schema's enum and validation follow it (the request serializer of the schema is built once,
    at import). Surrounding whitespace is ignored, as for the other text fields."""

    default_error_messages = {
        "invalid_choice": "'kind' {input!r} is not accepted by the HTTP API.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "What happened. Only the kinds of RECOMMENDATIONS_API_EVENT_KINDS are accepted (by "
            "default view, search, impression, click); any other kind is a 400 naming the allowed "
            "ones. Cart changes and purchases come from the shop's server (signals, order model).",
        )
        super().__init__(choices=(), **kwargs)

    @property  # type: ignore[override]
    def choices(self) -> dict[str, str]:
        return {kind: kind for kind in sorted(app_settings.API_EVENT_KINDS)}

    @choices.setter
    def choices(self, value: Any) -> None:
        """Ignored: the choices are the setting's."""

    @property
    def grouped_choices(self) -> dict[str, str]:  # type: ignore[override]
        return self.choices

    @property
    def choice_strings_to_values(self) -> dict[str, str]:  # type: ignore[override]
        return self.choices

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            data = data.strip()
        return super().to_internal_value(data)


class EventSerializer(serializers.Serializer):
    """One client-side event. Unknown fields are rejected, so typos surface as errors."""

    kind = EventKindField()
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
        problem = context_problem(value) if value else None
        if problem:
            raise serializers.ValidationError(f"Context {problem}.")
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


class BacklogFullSerializer(serializers.Serializer):
    """A 429's body: back-pressure fills every field, the per-visitor throttle ``detail`` only."""

    error = serializers.CharField(required=False, help_text='"backlog_full" (back-pressure).')
    detail = serializers.CharField()
    retry_after = serializers.IntegerField(
        required=False, help_text="Seconds to wait before sending the events again (back-pressure)."
    )


BACKLOG_FULL = OpenApiResponse(
    response=BacklogFullSerializer,
    description=(
        "Too many requests. Either this visitor's requests are throttled "
        '(RECOMMENDATIONS_INGEST_THROTTLE_RATE; DRF\'s body `{"detail": ...}`), or more events wait '
        "to be stored than RECOMMENDATIONS_INGEST_MAX_BACKLOG (back-pressure; body "
        '`{"error": "backlog_full", "detail": ..., "retry_after": n}`). Nothing of the request is '
        "stored either way: send the same events (same event_id) again after Retry-After seconds."
    ),
)


class EventBatchSerializer(serializers.Serializer):
    """A batch wrapped in an object: ``{"events": [...]}``."""

    events = serializers.ListField(
        child=EventSerializer(), min_length=1, max_length=app_settings.MAX_BATCH_SIZE
    )


class EventBodySerializer(serializers.Serializer):
    """The request body of ``POST events/``, for the schema only: one event object, a JSON array
    of 1 to ``MAX_BATCH_SIZE`` events, or ``{"events": [...]}`` (the schema's ``oneOf``, written
    by ``recommendations.api.schema.EventBodyScheme``)."""


class EventIngestView(UniformErrors, PrivateResponses, APIView):
    """``POST`` one event (a JSON object) or a batch (a JSON array, or ``{"events": [...]}``).

    The batch is all-or-nothing: if any item is invalid the response is 400 with one entry per
    bad field (``{"index", "field", "message"}``) and nothing is stored; a kind outside
    ``API_EVENT_KINDS`` (by default purchases and cart changes, which come from the shop's server)
    is such an error, on ``kind``, listing the accepted kinds. Retrying events that carry
    an ``event_id`` is safe: they are stored once (``duplicates`` counts the repeats). A bot (no
    User-Agent, or one matching ``BOT_USER_AGENT_PATTERN``) that is not logged in gets 202 with
    ``"skipped": "bot"`` and nothing is stored (see :mod:`recommendations.tracking.bots`).
    """

    authentication_classes = [BeaconSessionAuthentication]
    permission_classes = [AllowAny]
    parser_classes = [BoundedJSONParser]
    throttle_classes = [VisitorEventThrottle]

    @extend_schema(
        request=EventBodySerializer,
        responses={
            202: IngestResultSerializer,
            400: error(
                "An event is invalid (`errors` names each bad field by `index` and `field`: a blank, "
                "missing or unaccepted `kind`, an unknown product, ...), the batch is empty, or the "
                "body is not JSON or nested too deeply. Nothing of the request was stored."
            ),
            413: error(
                f"More than RECOMMENDATIONS_MAX_BATCH_SIZE ({app_settings.MAX_BATCH_SIZE}) events, or a "
                f"body over RECOMMENDATIONS_MAX_BODY_BYTES ({app_settings.MAX_BODY_BYTES})."
            ),
            415: error("The body is not application/json."),
            429: BACKLOG_FULL,
        },
        parameters=[
            OpenApiParameter(
                "Retry-After",
                int,
                OpenApiParameter.HEADER,
                response=[429],
                description="Seconds to wait before sending again.",
            )
        ],
        description=(
            'One event object, an array of up to 500, or {"events": [...]}; all-or-nothing. Only the '
            "kinds of the `kind` enum (RECOMMENDATIONS_API_EVENT_KINDS) are accepted; another kind is "
            "a 400 naming the field and the accepted kinds. Purchases and cart changes are recorded "
            "by the shop's server (signals or the order model), never from this endpoint by default."
        ),
    )
    def post(self, request: Request) -> Response:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > app_settings.MAX_BODY_BYTES:
            return error_response(
                "too_large", f"Request body is larger than {app_settings.MAX_BODY_BYTES} bytes.", 413
            )
        if app_settings.ENABLED and (overload := backpressure.overloaded()) is not None:
            # Back-pressure (recommendations.ingest.backpressure): more than INGEST_MAX_BACKLOG
            # events wait in the stream; nothing is stored. Checked before the body is parsed:
            # shedding load must cost next to nothing.
            response = error_response(
                "backlog_full",
                "Too many events are waiting to be stored; none of this request's events were "
                f"accepted. Send them again (same event_id) in {overload.retry_after} seconds.",
                status.HTTP_429_TOO_MANY_REQUESTS,
                retry_after=overload.retry_after,
            )
            response["Retry-After"] = str(overload.retry_after)
            return response
        payload = request.data
        if isinstance(payload, dict) and "events" in payload and set(payload) == {"events"}:
            payload = payload["events"]
        items = payload if isinstance(payload, list) else [payload]
        if len(items) > app_settings.MAX_BATCH_SIZE:
            return error_response(
                "batch_too_large",
                f"A batch holds at most {app_settings.MAX_BATCH_SIZE} events; this one has {len(items)}.",
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        if not items:
            return error_response("empty", "No events in the request.", 400)
        events, errors = parse_events(items)
        if errors:
            return error_response("invalid", "Some events are invalid; none were stored.", 400, errors=errors)
        visitor = get_visitor(request._request)
        try:
            result = record(events, source=Event.Source.API, visitor=visitor)
        except EventValidationError as exc:
            return error_response(
                "invalid", "Some events are invalid; none were stored.", 400, errors=exc.as_list()
            )
        body = {"accepted": result.accepted, "duplicates": result.duplicates}
        if result.skipped:
            body["skipped"] = result.skipped
        response = Response(body, status=status.HTTP_202_ACCEPTED)
        if visitor.set_cookie and not visitor.opted_out and not visitor.is_bot:
            # Any client that posts events gets a visitor id, so its retries share one scope (a
            # bot gets none, as from the middleware: it records no anonymous browsing).
            set_visitor_cookie(response, visitor)
            visitor.set_cookie = False
        return response
