"""The live campaigns as plain snapshots, cached in process for ``ADS_CAMPAIGN_CACHE_SECONDS``.

Saving or deleting a campaign in this process clears the cache; other processes see the change
within the cache time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from recommendations.conf import app_settings
from recommendations.engine.ads import MICROS
from recommendations.models import Campaign

_lock = threading.Lock()
_cache: dict[str, Any] = {"expires": 0.0, "campaigns": ()}


def to_micros(amount: Decimal | float | int) -> int:
    return int((Decimal(str(amount)) * MICROS).to_integral_value())


@dataclass(frozen=True)
class CampaignSnapshot:
    id: int
    name: str
    product_id: str | None
    banner_title: str
    banner_image_url: str
    target_url: str
    categories: frozenset[str]
    segments: frozenset[str]
    keywords: tuple[str, ...]
    products: frozenset[str]
    is_cpm: bool
    bid_micros: int
    daily_budget_micros: int
    total_budget_micros: int
    frequency_cap: int
    starts_at: datetime | None
    ends_at: datetime | None

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignSnapshot:
        return cls(
            id=campaign.pk,
            name=campaign.name,
            product_id=None if campaign.product_id is None else str(campaign.product_id),
            banner_title=campaign.banner_title,
            banner_image_url=campaign.banner_image_url,
            target_url=campaign.target_url,
            categories=frozenset(str(v) for v in campaign.target_categories or ()),
            segments=frozenset(str(v) for v in campaign.target_segments or ()),
            keywords=tuple(normalise(str(v)) for v in campaign.target_keywords or () if normalise(str(v))),
            products=frozenset(str(v) for v in campaign.target_products or ()),
            is_cpm=campaign.bid_type == Campaign.BidType.CPM,
            bid_micros=to_micros(campaign.bid_amount),
            daily_budget_micros=to_micros(campaign.daily_budget),
            total_budget_micros=to_micros(campaign.total_budget),
            frequency_cap=campaign.frequency_cap,
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
        )

    def in_schedule(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (
            self.ends_at is None or now < self.ends_at
        )


def normalise(text: str) -> str:
    """Lower case, words separated by one space (keyword matching)."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def live_campaigns(now: datetime) -> list[CampaignSnapshot]:
    """Active campaigns whose schedule covers ``now`` (budget and cap are checked when charging)."""
    clock = time.monotonic()
    with _lock:
        campaigns = _cache["campaigns"] if _cache["expires"] > clock else None
    if campaigns is None:
        rows = Campaign.objects.filter(status=Campaign.Status.ACTIVE).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        )
        campaigns = tuple(CampaignSnapshot.of(c) for c in rows.order_by("pk"))
        with _lock:
            _cache.update(expires=clock + app_settings.ADS_CAMPAIGN_CACHE_SECONDS, campaigns=campaigns)
    return [c for c in campaigns if c.in_schedule(now)]


def clear() -> None:
    with _lock:
        _cache.update(expires=0.0, campaigns=())


@receiver(post_save, sender=Campaign, dispatch_uid="recommendations.ads.catalog.saved")
@receiver(post_delete, sender=Campaign, dispatch_uid="recommendations.ads.catalog.deleted")
def _campaign_changed(**kwargs: Any) -> None:
    clear()
