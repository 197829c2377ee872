"""Ad impressions and clicks as ordinary events: kind ``impression`` / ``click``, slot
``ads:<name>``, context ``{"source": "ad:<campaign id>", "impression": <id>}``.

Written straight to the event writer (Redis stream or database) because a banner has no product,
which the public validation requires of impression/click events. Idempotent per impression:
a repeated impression or click of the same served ad is stored once.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from recommendations.catalogue.products import product_info
from recommendations.conf import app_settings
from recommendations.ingest import writer
from recommendations.schema import EventRow, derive_event_id
from recommendations.tracking.visitors import Visitor


def ad_slot(name: str) -> str:
    return f"ads:{name}"


def ad_source(campaign_id: int) -> str:
    return f"ad:{campaign_id}"


def record_ad_event(
    kind: str,
    visitor: Visitor | None,
    *,
    campaign_id: int,
    impression_id: str,
    slot: str,
    position: int,
    product_id: str | None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Store one ad event for ``visitor``; returns how many rows were new (0 or 1).
    Nothing is stored with recording disabled, for bots or for visitors who opted out."""
    if not app_settings.ENABLED or visitor is None or visitor.opted_out or visitor.is_bot:
        return 0
    info = product_info([product_id]).get(product_id) if product_id else None
    scope = str(visitor.visitor_id or f"user:{visitor.user_id}")
    row = EventRow(
        event_id=derive_event_id(f"ad-{kind}:{impression_id}", scope),
        kind=kind,
        created_at=timezone.now(),
        source="api",
        visitor_id=visitor.visitor_id,
        user_id=visitor.user_id,
        product_id=product_id if info is not None else None,
        categories=info.categories if info else (),
        slot=slot,
        position=position,
        ip=visitor.ip,
        device=visitor.device,
        context={"source": ad_source(campaign_id), "impression": impression_id, **(extra or {})},
    )
    return writer.write([row]).accepted
