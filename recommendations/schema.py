"""The event contract: plain data shapes of the capture pipeline (no ORM), shared by tracking,
ingest, the live state and the models."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from recommendations.subjects import subject_key

# Kinds that name a product (and so need one); others ("search") do not.
PRODUCT_KINDS = frozenset({"view", "add_to_cart", "remove_from_cart", "purchase", "impression", "click"})

# Largest JSON ``context`` an event may carry (serialised), whatever path it arrives by.
MAX_CONTEXT_BYTES = 2048

# Namespace of idempotency keys derived from a client's event_id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c2a1e-8a0e-4b61-9a43-1f0d5cf3a1b7")


@dataclass(slots=True)
class EventIn:
    """One event as the shop (or the HTTP API) describes it, before validation."""

    kind: str
    product_id: str | None = None
    user_id: str | int | None = None
    visitor_id: uuid.UUID | None = None
    created_at: datetime | None = None
    query: str = ""
    result_count: int | None = None
    quantity: int | None = None
    unit_price: Decimal | None = None
    order_id: str = ""
    slot: str = ""
    position: int | None = None
    token: str = ""
    event_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class EventRow:
    """A validated event, ready for the stream or the database (all ids canonical)."""

    event_id: uuid.UUID
    kind: str
    created_at: datetime
    source: str
    visitor_id: uuid.UUID | None = None
    user_id: str | None = None
    product_id: str | None = None
    categories: tuple[str, ...] = ()
    query: str = ""
    result_count: int | None = None
    quantity: int | None = None
    unit_price: Decimal | None = None
    order_id: str = ""
    slot: str = ""
    position: int | None = None
    token: str = ""
    ip: str = ""
    device: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """The live-state key: the user when known, else the anonymous visitor."""
        return subject_key(self.user_id, self.visitor_id)


def derive_event_id(client_event_id: str | None, scope: str) -> uuid.UUID:
    """The stored idempotency key: a client's id scoped to its visitor, or a fresh one."""
    if not client_event_id:
        return uuid.uuid4()
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{scope}|{client_event_id}")


class EventValidationError(ValueError):
    """Raised with per-item, per-field messages; nothing of the batch was written."""

    def __init__(self, errors: dict[int, dict[str, str]]) -> None:
        self.errors = errors
        first = next(iter(errors.items()))
        super().__init__(f"event {first[0]}: {first[1]}")

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"index": index, "field": name, "message": message}
            for index, fields in sorted(self.errors.items())
            for name, message in fields.items()
        ]
