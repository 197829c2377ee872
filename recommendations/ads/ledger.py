"""Spend counters that never let a campaign exceed its budget: the check and the increment are
one atomic step, so concurrent requests cannot both take the last cent.

* Redis (``REDIS_URL`` set): one Lua script per charge (:mod:`.ledger_redis`).
* Embedded defaults: the database, the campaign row locked with ``select_for_update`` for the
  check-and-increment (:mod:`.ledger_db`). On SQLite (no row locks) a process-wide lock
  serialises charges instead, which is exact for the single-process embedded demo only.

An impression is charged when it is served: CPM campaigns pay ``bid / 1000``; CPC campaigns pay
nothing but are only served while one more click would still fit in the total and paced daily
budget. A click is charged once per served impression (a reloaded redirect is free) and only
while it fits; a click that no longer fits is delivered unbilled, so spend never passes budget.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from recommendations.ads.catalog import CampaignSnapshot
from recommendations.conf import app_settings
from recommendations.engine.ads import cost_per_impression_micros, paced_allowance_micros

DAY_SECONDS = 86400


@dataclass(frozen=True)
class Charge:
    ok: bool
    reason: str = ""  # "budget", "daily", "pacing", "cap", "duplicate", "unbilled"
    charged_micros: int = 0


@dataclass(frozen=True)
class Counters:
    impressions: int = 0
    clicks: int = 0


@dataclass(frozen=True)
class Spend:
    total_micros: int = 0
    today_micros: int = 0


@dataclass(frozen=True)
class ImpressionTerms:
    """Everything the atomic step needs, computed before it (pure arithmetic of the clock)."""

    day: date
    cost: int  # micro-units charged now
    reserve: int  # micro-units that must still fit (the cost, or one click for CPC)
    allowance: int  # paced spend allowed so far today


def local_day(now: datetime) -> date:
    return timezone.localtime(now).date()


def day_fraction(now: datetime) -> float:
    local = timezone.localtime(now)
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    return seconds / DAY_SECONDS


def impression_terms(campaign: CampaignSnapshot, now: datetime) -> ImpressionTerms:
    cost = cost_per_impression_micros(campaign.bid_micros, campaign.is_cpm)
    allowance = paced_allowance_micros(
        campaign.daily_budget_micros, day_fraction(now), app_settings.ADS_PACING_BURST
    )
    reserve = cost if campaign.is_cpm else campaign.bid_micros
    return ImpressionTerms(day=local_day(now), cost=cost, reserve=reserve, allowance=allowance)


class Ledger(abc.ABC):
    @abc.abstractmethod
    def charge_impression(
        self, campaign: CampaignSnapshot, subject: str | None, now: datetime, *, also: str | None = None
    ) -> Charge:
        """Atomically: budget, daily budget, pacing and frequency cap checked; then spend,
        the visitor's daily count and the impression counter incremented. ``subject`` None
        skips the cap (the caller never serves capped campaigns without a subject). ``also``
        names a second subject whose daily count is incremented with ``subject``'s but not
        checked: a cookieless request is capped under its network key and also counts for the
        fresh visitor its response makes it, whose own cap then starts from there."""

    @abc.abstractmethod
    def charge_click(self, campaign: CampaignSnapshot, impression_id: str, now: datetime) -> Charge:
        """Count a click once per impression and charge a CPC bid while it fits the budgets."""

    @abc.abstractmethod
    def counters(self, campaign_ids: list[int]) -> dict[int, Counters]:
        """Lifetime impressions and clicks (for the smoothed CTR)."""

    @abc.abstractmethod
    def spend(self, campaign_id: int, now: datetime) -> Spend: ...


def get_ledger() -> Ledger:
    from recommendations.connections import redis_client

    client = redis_client()
    if client is not None:
        from recommendations.ads.ledger_redis import RedisLedger

        return RedisLedger(client, app_settings.REDIS_KEY_PREFIX)
    from recommendations.ads.ledger_db import DatabaseLedger

    return DatabaseLedger()


def forget_subjects(subjects: list[str], now: datetime | None = None) -> int:
    """Erasure: delete the frequency-cap counts of ``subjects`` (``u:``/``v:`` keys) from the
    database (embedded mode, or left from before Redis was configured) and from Redis. Returns
    how many counts (rows and keys) were removed."""
    from recommendations.ads.ledger_db import DatabaseLedger
    from recommendations.connections import redis_client

    subjects = [subject for subject in subjects if subject]
    if not subjects:
        return 0
    removed = DatabaseLedger().forget(subjects)
    client = redis_client()
    if client is not None:
        from recommendations.ads.ledger_redis import RedisLedger
        from recommendations.models import Campaign

        campaign_ids = list(Campaign.objects.values_list("pk", flat=True))
        ledger = RedisLedger(client, app_settings.REDIS_KEY_PREFIX)
        removed += ledger.forget(subjects, campaign_ids, now or timezone.now())
    return removed
