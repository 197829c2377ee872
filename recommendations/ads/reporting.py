"""A campaign's performance for admin: spend (from the ledger), impressions, clicks and CTR."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from recommendations.ads.catalog import CampaignSnapshot
from recommendations.ads.ledger import get_ledger
from recommendations.conf import app_settings
from recommendations.engine import stats
from recommendations.engine.ads import MICROS
from recommendations.models import Campaign


@dataclass(frozen=True)
class CampaignPerformance:
    spent_total: float
    spent_today: float
    impressions: int
    clicks: int
    ctr: float | None
    ctr_interval: tuple[float, float]
    smoothed_ctr: float
    budget_left: float


def performance(campaign: Campaign) -> CampaignPerformance:
    ledger = get_ledger()
    spend = ledger.spend(campaign.pk, timezone.now())
    counters = ledger.counters([campaign.pk])[campaign.pk]
    alpha, beta = app_settings.ADS_CTR_PRIOR
    snapshot = CampaignSnapshot.of(campaign)
    return CampaignPerformance(
        spent_total=spend.total_micros / MICROS,
        spent_today=spend.today_micros / MICROS,
        impressions=counters.impressions,
        clicks=counters.clicks,
        ctr=counters.clicks / counters.impressions if counters.impressions else None,
        ctr_interval=stats.wilson_interval(counters.clicks, counters.impressions),
        smoothed_ctr=(counters.clicks + alpha) / (counters.impressions + alpha + beta),
        budget_left=max(0, snapshot.total_budget_micros - spend.total_micros) / MICROS,
    )
