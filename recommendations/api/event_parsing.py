"""Field validation of client events posted to the ingest API, written by hand for speed.

Accepts exactly what :class:`recommendations.api.events.EventSerializer` describes (that
serializer stays the OpenAPI description of an event): the same field types, coercions (numbers as
strings, ``"5.0"`` as an integer, trimmed strings), limits and null/blank rules, and unknown fields
are rejected. DRF builds and runs a dozen field objects per event, which cost ~200 µs per event; this
costs a few µs. Errors come back as ``{"index", "field", "message"}`` with the field named in the
message. The kind must be one the HTTP API accepts (``API_EVENT_KINDS``); other business rules
(product exists, token valid...) are the recorder's.
"""

from __future__ import annotations

import decimal
import json
import re
from datetime import UTC, datetime
from typing import Any

from recommendations.conf import app_settings
from recommendations.schema import (
    MAX_CONTEXT_BYTES,
    MAX_PRODUCT_ID_LENGTH,
    EventIn,
    context_problem,
    text_problem,
)

_MAX_NUMBER_STRING = 1000  # DRF's MAX_STRING_LENGTH for numeric input
_TRAILING_ZEROS = re.compile(r"\.0*\s*$")  # "5.0" and 5.0 are the integer 5 (as in DRF)
_DECIMAL_INFINITIES = (decimal.Decimal("Inf"), decimal.Decimal("-Inf"))
_CENTS = decimal.Decimal("0.01")
_PRICE_CONTEXT = decimal.Context(prec=12)
# An unknown field's name is quoted up to this length (a hostile name may be a megabyte long).
MAX_NAME_CHARS = 64


class FieldError(ValueError):
    """One invalid field; the message names it."""


# --- field parsers: each takes the raw JSON value and returns the internal value or raises ------


def _string(name: str, max_length: int, *, allow_blank: bool) -> Any:
    def parse(value: Any) -> str:
        if value is None:
            raise FieldError(f"'{name}' may not be null.")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FieldError(f"'{name}' must be a string.")
        text = str(value).strip()
        if not text:
            if not allow_blank:
                raise FieldError(f"'{name}' may not be blank.")
            return ""
        if len(text) > max_length:
            raise FieldError(f"'{name}' has more than {max_length} characters.")
        problem = text_problem(text)
        if problem:
            raise FieldError(f"'{name}' may not contain {problem}.")
        return text

    return parse


def _integer(name: str, minimum: int, maximum: int | None) -> Any:
    def parse(value: Any) -> int | None:
        if value is None:
            return None
        if type(value) is int:  # the common case: a plain JSON integer
            number = value
        else:
            if isinstance(value, str) and len(value) > _MAX_NUMBER_STRING:
                raise FieldError(f"'{name}' must be an integer.")
            try:
                number = int(_TRAILING_ZEROS.sub("", str(value)))
            except (ValueError, TypeError):
                raise FieldError(f"'{name}' must be an integer.") from None
        if number < minimum:
            raise FieldError(f"'{name}' must be at least {minimum}.")
        if maximum is not None and number > maximum:
            raise FieldError(f"'{name}' must be at most {maximum}.")
        return number

    return parse


def _product(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise FieldError("'product' must be a product id (string or integer).")
    if type(value) is not str:
        return str(value)
    if len(value) > MAX_PRODUCT_ID_LENGTH:
        raise FieldError(f"'product' has more than {MAX_PRODUCT_ID_LENGTH} characters.")
    problem = text_problem(value)
    if problem:
        raise FieldError(f"'product' may not contain {problem}.")
    return value


def _timestamp(value: Any) -> datetime:
    message = "'timestamp' must be an ISO 8601 datetime with a timezone, or unix seconds."
    if value is None:
        raise FieldError("'timestamp' may not be null.")
    if isinstance(value, bool):
        raise FieldError(message)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise FieldError(message) from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(message) from None
        if parsed.tzinfo is None:
            raise FieldError(message)
        return parsed
    raise FieldError(message)


# Kinds that carry money or quantities: refused by default because the shop's server reports them.
SERVER_KINDS = frozenset({"add_to_cart", "remove_from_cart", "purchase"})
_kind_text = _string("kind", 32, allow_blank=False)


def _kind(value: Any) -> str:
    """A kind the HTTP API accepts (``API_EVENT_KINDS``); the message lists those it does."""
    kind = _kind_text(value)
    allowed = app_settings.API_EVENT_KINDS
    if kind in allowed:
        return kind
    listed = ", ".join(sorted(allowed)) or "none"
    if kind in SERVER_KINDS:
        raise FieldError(
            f"'kind' {kind!r} is not accepted by the HTTP API: cart changes and purchases are recorded "
            f"by the shop's server (signals or the order model). Allowed kinds: {listed}."
        )
    raise FieldError(f"'kind' {kind!r} is not accepted by the HTTP API. Allowed kinds: {listed}.")


def _unit_price(value: Any) -> decimal.Decimal | None:
    """A decimal with at most 12 digits, 2 of them after the point, not negative (DRF rules)."""
    if value is None:
        return None
    text = str(value).strip()
    invalid = FieldError("'unit_price' must be a decimal number.")
    if len(text) > _MAX_NUMBER_STRING:
        raise invalid
    try:
        number = decimal.Decimal(text)
    except decimal.DecimalException:
        raise invalid from None
    if number.is_nan() or number in _DECIMAL_INFINITIES:
        raise invalid
    _, digits, exponent = number.as_tuple()
    if exponent >= 0:
        total = whole = len(digits) + exponent
        places = 0
    elif len(digits) > -exponent:
        total, places = len(digits), -exponent
        whole = total - places
    else:
        total = places = -exponent
        whole = 0
    if total > 12:
        raise FieldError("'unit_price' has more than 12 digits.")
    if places > 2:
        raise FieldError("'unit_price' has more than 2 decimal places.")
    if whole > 10:
        raise FieldError("'unit_price' has more than 10 digits before the decimal point.")
    number = number.quantize(_CENTS, context=_PRICE_CONTEXT)
    if number < 0:
        raise FieldError("'unit_price' must not be negative.")
    return number


def _context(value: Any) -> dict[str, Any]:
    if value is None:
        raise FieldError("'context' may not be null.")
    if not isinstance(value, dict):
        raise FieldError(f"'context' must be an object, not {type(value).__name__}.")
    if not value:
        return {}
    problem = context_problem(value)  # before json.dumps: bounds the depth it recurses to
    if problem:
        raise FieldError(f"'context' {problem}.")
    if len(json.dumps(value, default=str)) > MAX_CONTEXT_BYTES:
        raise FieldError(f"'context' is larger than {MAX_CONTEXT_BYTES} bytes.")
    return {str(key): item for key, item in value.items()}


# Field name -> (parser, EventIn attribute). The names are those of EventSerializer.
FIELDS: dict[str, tuple[Any, str]] = {
    "kind": (_kind, "kind"),
    "product": (_product, "product_id"),
    "event_id": (_string("event_id", 64, allow_blank=False), "event_id"),
    "timestamp": (_timestamp, "created_at"),
    "query": (_string("query", 200, allow_blank=True), "query"),
    "result_count": (_integer("result_count", 0, None), "result_count"),
    "quantity": (_integer("quantity", 1, 10_000), "quantity"),
    "unit_price": (_unit_price, "unit_price"),
    "order_id": (_string("order_id", 64, allow_blank=True), "order_id"),
    "slot": (_string("slot", 64, allow_blank=True), "slot"),
    "position": (_integer("position", 0, 32767), "position"),
    "token": (_string("token", 512, allow_blank=True), "token"),
    "context": (_context, "context"),
}
_parse_kind = FIELDS["kind"][0]
_parse_product = FIELDS["product"][0]


def parse_event(item: Any) -> tuple[EventIn | None, dict[str, str]]:
    """One posted item as an :class:`EventIn`, or None and ``{field: message}``."""
    if not isinstance(item, dict):
        kind = "null" if item is None else type(item).__name__
        return None, {"non_field_errors": f"Each event must be a JSON object, not {kind}."}
    errors: dict[str, str] = {}
    # Fast path for the most common shape ({"kind", "product"} and nothing else).
    if len(item) == 2 and "kind" in item and "product" in item:
        try:
            return EventIn(kind=_parse_kind(item["kind"]), product_id=_parse_product(item["product"])), {}
        except FieldError:
            pass  # the general path below names every bad field
    event = EventIn(kind="")
    for name, value in item.items():
        field = FIELDS.get(name)
        if field is None:
            shown = name if len(name) <= MAX_NAME_CHARS else name[:MAX_NAME_CHARS] + "…"
            errors[shown] = f"Unknown field {shown!r}."
            continue
        parse, attribute = field
        try:
            parsed = parse(value)
        except FieldError as exc:
            errors[name] = str(exc)
            continue
        setattr(event, attribute, parsed)
    if "kind" not in item:
        errors["kind"] = "'kind' is required."
    if errors:
        return None, errors
    return event, {}


def parse_events(items: list[Any]) -> tuple[list[EventIn], list[dict[str, Any]]]:
    """Parse a batch: (events, []) when every item is valid, else ([], one error per bad field)."""
    events: list[EventIn] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        event, item_errors = parse_event(item)
        if item_errors:
            errors.extend(
                {"index": index, "field": name, "message": message} for name, message in item_errors.items()
            )
        elif not errors:
            events.append(event)  # type: ignore[arg-type]
    return (events, []) if not errors else ([], errors)
