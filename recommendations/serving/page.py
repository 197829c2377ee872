"""A page's slots, computed in one pass and served from the slot cache.

A page asks for its slots together (``[SlotSpec("for_you"), SlotSpec("trending"), ...]``): on a
cache hit the answer is one lookup; on a miss :func:`recommend_slots` computes every slot at once
(one model lookup, one live-state read, cross-slot de-duplication), the display fields are read
from the product cache, and the rows are stored for the visitor's current live-state version.
Rows carry everything a slot renders except the per-request recommendation tokens.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from recommendations import modelstore
from recommendations.catalogue import generation
from recommendations.catalogue.products import product_display
from recommendations.experiments.registry import recipe_for
from recommendations.serving.cache import get_slot_cache
from recommendations.serving.core import SlotRequest, recommend_slots
from recommendations.subjects import Subject

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlotSpec:
    """One slot on a page: the slot name its items carry, its context and how many items."""

    slot: str
    context: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None


class Row(NamedTuple):
    """One recommended product ready to render, without its per-request token."""

    product_id: str
    title: str
    url: str  # the product URL, before the token is added
    image_url: str | None
    price: Decimal | None
    score: float
    reason: str
    reason_code: str
    source: str


def _spec_text(specs: Sequence[SlotSpec], recipes: Sequence[str], kind: str) -> str:
    slots = [[s.slot, recipe, s.context, s.limit] for s, recipe in zip(specs, recipes, strict=True)]
    return json.dumps([kind, slots], sort_keys=True, separators=(",", ":"), default=str)


def _parse_spec(spec_text: str) -> tuple[str, list[SlotSpec], list[str]]:
    kind, slots = json.loads(spec_text)
    return kind, [SlotSpec(s, c, n) for s, _r, c, n in slots], [r for _s, r, _c, _n in slots]


@lru_cache(maxsize=4096)
def _key(spec_text: str) -> str:
    return hashlib.blake2b(spec_text.encode(), digest_size=10).hexdigest()


def encode(rows: Sequence[Sequence[Row]]) -> str:
    return json.dumps(
        [
            [[*row[:4], None if row.price is None else str(row.price), *row[5:]] for row in slot]
            for slot in rows
        ],
        separators=(",", ":"),
    )


# How a kind of entry is serialised from a page's rows: "rows" (the template tags: decode() reads
# it back) here, "api" (a JSON body with token placeholders) registered by the render step.
Renderer = Callable[[Sequence[SlotSpec], list[list[Row]]], str]
RENDERERS: dict[str, Renderer] = {"rows": lambda specs, rows: encode(rows)}


@lru_cache(maxsize=2048)
def decoded(payload: str) -> tuple[tuple[Row, ...], ...]:
    """:func:`decode`, kept for the payloads read again and again (a cache hit returns the same
    string, whose hash Python keeps): the rows are immutable, so every reader may share them."""
    return tuple(tuple(slot) for slot in decode(payload))


def decode(payload: str) -> list[list[Row]]:
    return [
        [
            Row(
                pid, title, url, image, None if price is None else Decimal(price), score, reason, code, source
            )
            for pid, title, url, image, price, score, reason, code, source in slot
        ]
        for slot in json.loads(payload)
    ]


def compute(visitor: Subject | None, specs: Sequence[SlotSpec], recipes: Sequence[str]) -> list[list[Row]]:
    """Every slot of the page, uncached, with the display fields of its products."""
    requests = [
        SlotRequest(recipe, dict(s.context), s.limit) for s, recipe in zip(specs, recipes, strict=True)
    ]
    slots = recommend_slots(visitor, requests)
    displays = product_display({rec.product_id for recs in slots for rec in recs})
    out = []
    for recs in slots:
        rows = []
        for rec in recs:
            display = displays.get(rec.product_id)
            if display is None:  # deleted since the model was built
                continue
            rows.append(
                Row(
                    rec.product_id,
                    display.title,
                    display.url,
                    display.image_url,
                    display.price,
                    float(rec.score),
                    rec.reason,
                    rec.reason_code,
                    rec.source,
                )
            )
        out.append(rows)
    return out


def _model_tag() -> str | None:
    """What cached rows were computed from besides the visitor's state: the model version and the
    catalogue generation (None without a model: the cold path is not cached)."""
    version = modelstore.active_version_id()
    return None if version is None else f"{version}.{generation.generation()}"


def page_payload(visitor: Subject | None, specs: Sequence[SlotSpec], kind: str = "rows") -> str:
    """The ``kind`` rendering of every slot in ``specs`` for ``visitor`` (None: non-personal),
    from the cache while the visitor's live state, the model and the catalogue are unchanged since
    it was computed; else computed (one pass) and stored."""
    recipes = [recipe_for(s.slot, visitor) for s in specs]  # a running experiment's variant
    render = RENDERERS[kind]
    subject = None if visitor is None else visitor.key
    cache = get_slot_cache() if subject is not None else None
    model = _model_tag() if cache is not None else None
    if cache is None or model is None:  # no cache, nobody, or no model yet (cold path: uncached)
        return render(specs, compute(visitor, specs, recipes))
    spec_text = _spec_text(specs, recipes, kind)
    key = _key(spec_text)
    try:
        lookup = cache.get(subject, key, model)
    except Exception:  # the cache is an optimisation: an outage must not break the page
        logger.warning("slot cache unreachable; computing the slots", exc_info=True)
        return render(specs, compute(visitor, specs, recipes))
    if lookup.payload is not None:
        return lookup.payload
    payload = render(specs, compute(visitor, specs, recipes))
    try:
        cache.put(subject, key, version=lookup.version, model=model, payload=payload, spec=spec_text)
    except Exception:
        logger.warning("slot cache unreachable; not storing the slots", exc_info=True)
    return payload


def page_rows(visitor: Subject | None, specs: Sequence[SlotSpec]) -> list[list[Row]]:
    """The rows of every slot in ``specs`` for ``visitor`` (see :func:`page_payload`)."""
    return [list(rows) for rows in decoded(page_payload(visitor, specs, "rows"))]


def refresh(subject_key: str) -> int:
    """Recompute the visitor's cached pages at their current live-state version (after new
    events); returns how many were stored. Used by the refresh-on-write task."""
    cache = get_slot_cache()
    model = _model_tag()
    if cache is None or model is None:
        return 0
    visitor = Subject.from_key(subject_key)
    stored = 0
    for key, spec_text in cache.specs(subject_key).items():
        lookup = cache.get(subject_key, key, model)
        if lookup.payload is not None:
            continue  # already fresh (a read computed it first)
        kind, specs, recipes = _parse_spec(spec_text)
        render = RENDERERS.get(kind)
        if render is None:
            continue
        payload = render(specs, compute(visitor, specs, recipes))
        stored += cache.put(
            subject_key, key, version=lookup.version, model=model, payload=payload, spec=spec_text
        )
    return stored
