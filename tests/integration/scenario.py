"""A shopping session as API events, and what the database must hold after it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from recommendations.models import Event
from recommendations.schema import derive_event_id

# Recent enough for EVENT_MAX_AGE_DAYS, with microseconds to check stored timestamps exactly.
START = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=123456)


def session_events(
    item_ids: list[str], count: int, *, tag: str = "e", start: datetime = START
) -> list[dict[str, Any]]:
    """``count`` events cycling through views, searches, carts and purchases, each with a client
    event_id and a distinct microsecond timestamp (so stored rows can be checked field by field)."""
    events = []
    for n in range(count):
        product = item_ids[n % len(item_ids)]
        when = (start + timedelta(seconds=n, microseconds=n)).isoformat()
        base = {"event_id": f"{tag}-{n}", "timestamp": when}
        match n % 5:
            case 0 | 1:
                events.append({**base, "kind": "view", "product": product})
            case 2:
                events.append({**base, "kind": "search", "query": f"tent {n}", "result_count": n % 7})
            case 3:
                events.append({**base, "kind": "add_to_cart", "product": product, "quantity": 1 + n % 3})
            case _:
                events.append(
                    {
                        **base,
                        "kind": "purchase",
                        "product": product,
                        "quantity": 2,
                        "unit_price": "12.50",
                        "order_id": f"order-{n}",
                    }
                )
    return events


def batches(events: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def expected_rows(events: list[dict[str, Any]], visitor_id: uuid.UUID) -> dict[uuid.UUID, tuple]:
    """The stored idempotency key of each event -> the fields the database must hold."""
    return {
        derive_event_id(event["event_id"], str(visitor_id)): (
            event["kind"],
            event.get("product"),
            event.get("query", ""),
            event.get("quantity") or (1 if event["kind"] == "purchase" else None),
            None if "unit_price" not in event else Decimal(event["unit_price"]),
            event.get("order_id", ""),
            datetime.fromisoformat(event["timestamp"]),
            str(visitor_id),
        )
        for event in events
    }


def stored_rows() -> dict[uuid.UUID, tuple]:
    return {
        event.event_id: (
            event.kind,
            None if event.product_id is None else str(event.product_id),
            event.query,
            event.quantity,
            event.unit_price,
            event.order_id,
            event.created_at,
            None if event.visitor_id is None else str(event.visitor_id),
        )
        for event in Event.objects.all()
    }
