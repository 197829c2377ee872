"""Validate events and hand them to the writer. Every capture path (middleware, signals, the
HTTP API, bulk import) ends here, so the rules are the same for all of them."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from recommendations.catalogue.products import product_info, product_keys
from recommendations.conf import app_settings
from recommendations.ingest import writer
from recommendations.schema import (
    EARLIEST_TIMESTAMP,
    PRODUCT_KINDS,
    EventIn,
    EventRow,
    EventValidationError,
    context_problem,
    derive_event_id,
    text_problem,
)
from recommendations.tracking.bots import may_record, recordable_rows
from recommendations.tracking.visitors import Visitor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordResult:
    accepted: int = 0
    duplicates: int = 0
    skipped: str = ""  # why nothing was recorded: "disabled", "opted_out", "bot"
    path: str = ""


def timestamp_bounds(now: datetime, source: str) -> tuple[datetime, datetime]:
    """The earliest and latest ``created_at`` accepted from ``source`` at ``now``: every path but
    bulk import is held to ``EVENT_MAX_AGE_DAYS``, every path to 1970 and the future skew."""
    latest = now + timedelta(seconds=app_settings.EVENT_MAX_FUTURE_SECONDS)
    max_age = app_settings.EVENT_MAX_AGE_DAYS
    if max_age is None or source == "import":
        return EARLIEST_TIMESTAMP, latest
    return max(EARLIEST_TIMESTAMP, now - timedelta(days=max_age)), latest


def _timestamp_error(created_at: datetime, bounds: tuple[datetime, datetime]) -> str | None:
    if timezone.is_naive(created_at):
        return "Timestamps must carry a timezone."
    earliest, latest = bounds
    if created_at > latest:
        return f"Timestamp is more than {app_settings.EVENT_MAX_FUTURE_SECONDS} seconds in the future."
    if created_at < earliest:
        return f"Timestamp is before {earliest.isoformat()}, the oldest accepted."
    return None


# Text fields of an event, checked for what the database cannot store (NUL, lone surrogates).
_TEXT_FIELDS = (("kind", "kind"), ("product", "product_id"), ("query", "query"), ("order_id", "order_id"),
                ("slot", "slot"), ("token", "token"), ("event_id", "event_id"))  # fmt: skip


def _validate_one(
    event: EventIn, weights: dict[str, float], bounds: tuple[datetime, datetime]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, attribute in _TEXT_FIELDS:
        value = getattr(event, attribute)
        if value and isinstance(value, str) and (problem := text_problem(value)):
            errors[name] = f"'{name}' may not contain {problem}."
    if event.context and (problem := context_problem(event.context)):
        errors["context"] = f"'context' {problem}."
    if errors:
        return errors  # the checks below would quote the unstorable text
    if event.kind not in weights:
        errors["kind"] = f"Unknown event kind {event.kind!r}; expected one of: {', '.join(sorted(weights))}."
    if event.kind in PRODUCT_KINDS and not event.product_id:
        errors["product"] = f"A {event.kind!r} event needs a product."
    if event.kind == "search" and not (event.query or "").strip():
        errors["query"] = "A 'search' event needs a non-empty query."
    if event.kind == "purchase" and not event.order_id:
        errors["order_id"] = "A 'purchase' event needs an order_id."
    if event.kind in ("impression", "click") and not (event.slot or event.token):
        errors["slot"] = f"An {event.kind!r} event needs the slot it happened in."
    if event.quantity is not None and event.quantity < 1:
        errors["quantity"] = "Quantity must be a positive integer."
    if event.unit_price is not None:
        try:
            if Decimal(event.unit_price) < 0:
                errors["unit_price"] = "Unit price must not be negative."
        except (InvalidOperation, TypeError):
            errors["unit_price"] = "Unit price must be a decimal number."
    if event.created_at is not None and (problem := _timestamp_error(event.created_at, bounds)):
        errors["timestamp"] = problem
    if len(event.query or "") > 200:
        errors["query"] = "Query is longer than 200 characters."
    if event.event_id is not None and not 0 < len(str(event.event_id)) <= 64:
        errors["event_id"] = "event_id must be 1 to 64 characters."
    if event.token:
        _apply_token(event, errors)
    return errors


def _apply_token(event: EventIn, errors: dict[str, str]) -> None:
    """Fill slot, position and source from a signed recommendation token; reject forged ones."""
    from recommendations.attribution import InvalidToken, verify

    try:
        token = verify(event.token, event.product_id)
    except InvalidToken as exc:
        errors["token"] = str(exc)
        return
    event.slot = event.slot or token.slot
    if event.position is None:
        event.position = token.position
    event.context = {**(event.context or {}), "source": token.source, "request_id": token.request_id}


def idempotency_scope(visitor: Visitor, source: str) -> str:
    """What a client's ``event_id`` is unique within, for events recorded on behalf of ``visitor``
    by ``source``: the visitor cookie the request carried, else the logged-in user, else every
    request of that source without either.

    A request without the cookie gets a fresh visitor id each time, so scoping its ids to that
    visitor would store every retry again: a client that keeps no cookies (a shop's server posting
    for its shoppers) must send ids unique on their own (a UUID). Naming the source keeps ids posted
    to the HTTP API from ever matching those the shop's own signals derive (``order:<id>:<line>``).
    """
    if not visitor.set_cookie:  # the request carried its visitor cookie
        return str(visitor.visitor_id)
    if visitor.user_id is not None:
        return f"user:{visitor.user_id}"
    return f"cookieless:{source}"


def _fresh_ids(count: int) -> Iterator[uuid.UUID]:
    """``count`` random (version 4) UUIDs from one ``os.urandom`` call."""
    pool = os.urandom(16 * count)
    for start in range(0, 16 * count, 16):
        yield uuid.UUID(bytes=pool[start : start + 16], version=4)


def build_rows(events: Sequence[EventIn], *, source: str, visitor: Visitor | None = None) -> list[EventRow]:
    """Validate every event and turn them into rows; raise :class:`EventValidationError` naming
    each bad item and field (nothing is written then)."""
    weights = app_settings.event_weights
    now = timezone.now()
    bounds = timestamp_bounds(now, source)
    errors: dict[int, dict[str, str]] = {}
    keys: list[str | None] = []
    # A batch names few distinct products: canonicalise each once.
    canonical = product_keys(
        {event.product_id for event in events if event.product_id is not None and event.product_id != ""}
    )
    for index, event in enumerate(events):
        item_errors = _validate_one(event, weights, bounds)
        key = None
        if event.product_id is not None and event.product_id != "" and "product" not in item_errors:
            key = canonical[event.product_id]
            if key is None:
                item_errors["product"] = f"{event.product_id!r} is not a valid product id."
        keys.append(key)
        if item_errors:
            errors[index] = item_errors
    infos = product_info({key for key in keys if key is not None})
    for index, key in enumerate(keys):
        if key is not None and infos.get(key) is None:
            errors.setdefault(index, {})["product"] = f"Unknown product {key!r}."
    if errors:
        raise EventValidationError(errors)

    fresh_ids = _fresh_ids(sum(1 for event in events if not event.event_id))
    if visitor is not None:
        default_visitor_id, default_user_id = visitor.visitor_id, visitor.user_id
        ip, device = visitor.ip, visitor.device
        request_scope = idempotency_scope(visitor, str(source))
    else:
        default_visitor_id = default_user_id = None
        ip = device = ""
        request_scope = None
    rows = []
    for event, key in zip(events, keys, strict=True):
        visitor_id = event.visitor_id or default_visitor_id
        user_id = event.user_id if event.user_id is not None else default_user_id
        user_id = None if user_id is None else str(user_id)
        if user_id is None and visitor_id is None:
            raise ImproperlyConfigured(
                "An event needs a user or a visitor id (pass request, user or visitor_id)."
            )
        if event.event_id:
            if event.visitor_id is None and event.user_id is None and request_scope is not None:
                scope = request_scope
            else:
                scope = str(visitor_id or f"user:{user_id}")
            event_id = derive_event_id(event.event_id, scope)
        else:
            event_id = next(fresh_ids)
        info = infos.get(key) if key is not None else None
        quantity = event.quantity
        if quantity is None and event.kind == "purchase":
            quantity = 1
        rows.append(
            EventRow(
                event_id=event_id,
                kind=event.kind,
                created_at=event.created_at or now,
                source=source,
                visitor_id=visitor_id,
                user_id=user_id,
                product_id=key,
                categories=info.categories if info else (),
                query=(event.query or "").strip(),
                result_count=event.result_count,
                quantity=quantity,
                unit_price=None if event.unit_price is None else Decimal(event.unit_price),
                order_id=str(event.order_id or ""),
                slot=event.slot or "",
                position=event.position,
                token=event.token or "",
                ip=ip,
                device=device,
                context=dict(event.context) if event.context else {},
            )
        )
    return rows


def record(events: Sequence[EventIn], *, source: str, visitor: Visitor | None = None) -> RecordResult:
    """Record events for a visitor (or for the users/visitors named on each event).

    All or nothing: an invalid item raises :class:`EventValidationError` and nothing is stored.
    Retries are idempotent when events carry an ``event_id``. For a bot's request only what
    :mod:`recommendations.tracking.bots` allows is stored (``skipped="bot"`` when nothing is).
    """
    if not app_settings.ENABLED:
        return RecordResult(skipped="disabled")
    if visitor is not None and visitor.opted_out:
        return RecordResult(skipped="opted_out")
    if visitor is not None and not any(may_record(visitor, event.kind) for event in events):
        return RecordResult(skipped="bot")
    rows = build_rows(events, source=source, visitor=visitor)
    if visitor is not None:
        rows = recordable_rows(rows, visitor)  # a bot's batch mixing purchases and browsing
    result = writer.write(rows)
    return RecordResult(accepted=result.accepted, duplicates=result.duplicates, path=result.path)


def record_for_request(request: Any, events: Sequence[EventIn], *, source: str) -> RecordResult:
    """Record events on behalf of the visitor behind ``request``."""
    from recommendations.tracking.visitors import get_visitor

    return record(events, source=source, visitor=get_visitor(request))
