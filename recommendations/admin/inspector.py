"""The "why" inspector: what each slot recommends to one shopper right now, and why.

Calls the serving core exactly as a page would (no context), so an admin sees the scores,
sources and explanations the shopper gets; product titles are loaded in one query.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from recommendations.catalogue.products import product_titles
from recommendations.serving import Recommendation, recommend
from recommendations.serving.slots import recipes
from recommendations.subjects import Subject

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WhyItem:
    position: int
    product_id: str
    title: str
    score: float
    source: str
    reason: str
    reason_code: str
    evidence: tuple[str, ...]  # titles of the products (or ids of categories) behind the reason


@dataclass
class SlotWhy:
    slot: str
    items: list[WhyItem] = field(default_factory=list)
    error: str = ""


def why(visitor: Subject, limit: int | None = None) -> list[SlotWhy]:
    """Every configured slot's current recommendations for ``visitor``."""
    raw: dict[str, list[Recommendation]] = {}
    errors: dict[str, str] = {}
    for slot in recipes():
        try:
            raw[slot] = recommend(visitor, slot, {}, limit)
        except Exception as exc:  # one broken slot must not hide the others
            logger.exception("why inspector: slot %s failed", slot)
            raw[slot], errors[slot] = [], f"{type(exc).__name__}: {exc}"
    ids = {rec.product_id for recs in raw.values() for rec in recs}
    ids |= {e for recs in raw.values() for rec in recs for e in rec.evidence}
    titles = product_titles(ids)
    return [
        SlotWhy(
            slot=slot,
            error=errors.get(slot, ""),
            items=[
                WhyItem(
                    position=n,
                    product_id=rec.product_id,
                    title=titles.get(rec.product_id, rec.product_id),
                    score=rec.score,
                    source=rec.source,
                    reason=rec.reason,
                    reason_code=rec.reason_code,
                    evidence=tuple(titles.get(e, e) for e in rec.evidence),
                )
                for n, rec in enumerate(recs)
            ],
        )
        for slot, recs in raw.items()
    ]
