"""The serving core's public value types."""

from __future__ import annotations

from dataclasses import dataclass

from recommendations.subjects import Subject


@dataclass(frozen=True)
class Recommendation:
    """One recommended product with its score and a human explanation.

    ``evidence`` holds product ids (category ids for ``reason_code="trending_in_category"``);
    ``reason_code`` is the machine form: viewed, session, similar, bought_with, trending,
    trending_in_category, recently_viewed, search, new_item, catalogue, buy_again, browsed.
    """

    product_id: str
    score: float
    source: str
    reason: str
    evidence: tuple[str, ...] = ()
    reason_code: str = ""


# Deprecated spelling of :class:`recommendations.subjects.Subject` (0.1); use Subject.
VisitorRef = Subject
