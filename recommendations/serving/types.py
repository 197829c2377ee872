"""The serving core's public value types."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from recommendations.tracking.schema import subject_key


@dataclass(frozen=True)
class VisitorRef:
    """Who is asking: a logged-in user (preferred for history) and/or an anonymous visitor."""

    user_id: str | None
    visitor_id: uuid.UUID | None

    @classmethod
    def from_request(cls, request: Any) -> VisitorRef:
        from recommendations.tracking.visitors import get_visitor

        visitor = get_visitor(request)
        user = visitor.user
        return cls(user_id=None if user is None else str(user.pk), visitor_id=visitor.visitor_id)

    @property
    def subject(self) -> str | None:
        """The live-state / training key: ``u:<user>`` or ``v:<visitor>``."""
        if self.user_id in (None, "") and self.visitor_id is None:
            return None
        return subject_key(self.user_id, self.visitor_id)


@dataclass(frozen=True)
class Recommendation:
    """One recommended product with its score and a human explanation.

    ``evidence`` holds product ids (category ids for ``reason_code="trending_in_category"``);
    ``reason_code`` is the machine form: viewed, session, similar, bought_with, trending,
    trending_in_category, recently_viewed, search, new_item, catalogue.
    """

    product_id: str
    score: float
    source: str
    reason: str
    evidence: tuple[str, ...] = ()
    reason_code: str = ""
