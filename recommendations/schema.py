"""The event contract: plain data shapes of the capture pipeline (no ORM), shared by tracking,
ingest, the live state and the models."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from recommendations.subjects import subject_key

# Kinds that name a product (and so need one); others ("search") do not.
PRODUCT_KINDS = frozenset({"view", "add_to_cart", "remove_from_cart", "purchase", "impression", "click"})

# Largest JSON ``context`` an event may carry (serialised), whatever path it arrives by.
MAX_CONTEXT_BYTES = 2048
# Longest product id accepted (longer than any primary key a shop uses: CharField's usual 255).
MAX_PRODUCT_ID_LENGTH = 255
# Deepest a ``context`` may nest (objects and arrays), so nothing that reads one ever recurses far.
MAX_CONTEXT_DEPTH = 8

# No event is older than this, whatever path it arrives by (a year-1 date with a +14:00 offset is
# a BC date in PostgreSQL, which Python cannot read back). ``EVENT_MAX_AGE_DAYS`` is the tighter,
# configurable bound of every path but bulk import.
EARLIEST_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)

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


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (PostgreSQL refuses NUL characters, and unpaired surrogates
    cannot be encoded as UTF-8), or None."""
    if "\x00" in text:
        return "null characters"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "unpaired surrogate characters"
    return None


def context_problem(context: dict[str, Any]) -> str | None:
    """Why an event's ``context`` cannot be stored, or None: every key and string in it must be
    storable text, and it may nest at most ``MAX_CONTEXT_DEPTH`` levels. Walks iteratively, and
    gives up past ``MAX_CONTEXT_BYTES`` values (each takes at least a byte), so a hostile context
    costs no more than a small one."""
    stack: list[tuple[Any, int, str]] = [(context, 1, "context")]
    seen = 0
    while stack:
        value, depth, path = stack.pop()
        seen += 1
        if seen > MAX_CONTEXT_BYTES:
            return f"is larger than {MAX_CONTEXT_BYTES} bytes"
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                return f"may not contain {problem} (at {path})"
        elif isinstance(value, dict | list | tuple):
            if depth > MAX_CONTEXT_DEPTH:
                return f"may not nest more than {MAX_CONTEXT_DEPTH} levels deep"
            if isinstance(value, dict):
                for key, item in value.items():
                    name = key if isinstance(key, str) else str(key)
                    problem = text_problem(name)
                    if problem:
                        return f"may not contain {problem} (in a key of {path})"
                    stack.append((item, depth + 1, f"{path}.{name[:32]}"))
            else:
                stack.extend((item, depth + 1, f"{path}[{index}]") for index, item in enumerate(value))
    return None


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
