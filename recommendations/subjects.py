"""Who the shopper is: one :class:`Subject` for a logged-in user and/or an anonymous visitor.

Every feature speaks of shoppers through this type; its :attr:`Subject.key` (``u:<user id>`` when
the user is known, else ``v:<visitor id>``) is the key of the live state, of training rows and of
portraits. A request becomes a Subject through
:func:`recommendations.tracking.visitors.subject_of_request`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


def subject_key(user_id: Any, visitor_id: Any) -> str:
    """``u:<user id>`` when a user is known, else ``v:<visitor id>``."""
    if user_id is not None and user_id != "":
        return f"u:{user_id}"
    if visitor_id is not None:
        return f"v:{visitor_id}"
    raise ValueError("An event needs a user or a visitor id.")


@dataclass(frozen=True, slots=True)
class Subject:
    """A shopper: a logged-in user (preferred for history) and/or an anonymous visitor."""

    user_id: str | None = None
    visitor_id: uuid.UUID | None = None

    @classmethod
    def of(cls, *, user: Any = None, user_id: Any = None, visitor_id: Any = None) -> Subject:
        """From a user object (or its primary key) and/or a visitor id (UUID or its string)."""
        if user is not None:
            user_id = getattr(user, "pk", user)
        return cls(
            user_id=None if user_id in (None, "") else str(user_id),
            visitor_id=None if visitor_id in (None, "") else uuid.UUID(str(visitor_id)),
        )

    @classmethod
    def from_key(cls, key: str) -> Subject:
        """The subject of a ``u:``/``v:`` key; ``ValueError`` for anything else."""
        kind, _, value = key.partition(":")
        if kind == "u" and value:
            return cls(user_id=value)
        if kind == "v" and value:
            return cls(visitor_id=uuid.UUID(value))
        raise ValueError(f"Not a subject key: {key!r}")

    @property
    def key(self) -> str | None:
        """The live-state / training key, or None for nobody."""
        if self.user_id in (None, "") and self.visitor_id is None:
            return None
        return subject_key(self.user_id, self.visitor_id)

    @property
    def is_anonymous(self) -> bool:
        return self.user_id in (None, "")
