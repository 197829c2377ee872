"""The database spend ledger of the embedded mode.

Each charge runs in one transaction that first locks the campaign row (``select_for_update``),
so on PostgreSQL concurrent charges of one campaign queue up and the budget check sees the
spend of every earlier charge. SQLite has no row locks: a process-wide lock serialises charges
(exact within one process, which is what the embedded demo runs).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum

from recommendations.ads.catalog import CampaignSnapshot
from recommendations.ads.ledger import Charge, Counters, Ledger, Spend, impression_terms, local_day
from recommendations.models import AdClick, AdFrequency, Campaign, CampaignSpend

_process_lock = threading.Lock()


@contextlib.contextmanager
def _locked(campaign_id: int) -> Iterator[bool]:
    """Yields False when the campaign no longer exists."""
    guard = _process_lock if connection.vendor == "sqlite" else contextlib.nullcontext()
    with guard, transaction.atomic():
        yield Campaign.objects.select_for_update().filter(pk=campaign_id).exists()


def _spent(campaign_id: int, day_row: CampaignSpend) -> tuple[int, int]:
    total = CampaignSpend.objects.filter(campaign_id=campaign_id).aggregate(s=Sum("spent_micros"))["s"] or 0
    return int(total), int(day_row.spent_micros)


class DatabaseLedger(Ledger):
    def charge_impression(
        self, campaign: CampaignSnapshot, subject: str | None, now: datetime, *, also: str | None = None
    ) -> Charge:
        terms = impression_terms(campaign, now)
        with _locked(campaign.id) as exists:
            if not exists:
                return Charge(False, "budget")
            day_row, _ = CampaignSpend.objects.get_or_create(campaign_id=campaign.id, day=terms.day)
            total, today = _spent(campaign.id, day_row)
            if total + terms.reserve > campaign.total_budget_micros:
                return Charge(False, "budget")
            if today + terms.reserve > campaign.daily_budget_micros:
                return Charge(False, "daily")
            if today + terms.reserve > terms.allowance:
                return Charge(False, "pacing")
            if subject and campaign.frequency_cap > 0:
                seen, _ = AdFrequency.objects.get_or_create(
                    campaign_id=campaign.id, subject=subject, day=terms.day
                )
                if seen.count >= campaign.frequency_cap:
                    return Charge(False, "cap")
                AdFrequency.objects.filter(pk=seen.pk).update(count=F("count") + 1)
                if also:
                    second, _ = AdFrequency.objects.get_or_create(
                        campaign_id=campaign.id, subject=also, day=terms.day
                    )
                    AdFrequency.objects.filter(pk=second.pk).update(count=F("count") + 1)
            CampaignSpend.objects.filter(pk=day_row.pk).update(
                spent_micros=F("spent_micros") + terms.cost, impressions=F("impressions") + 1
            )
        return Charge(True, "", terms.cost)

    def charge_click(self, campaign: CampaignSnapshot, impression_id: str, now: datetime) -> Charge:
        cost = 0 if campaign.is_cpm else campaign.bid_micros
        with _locked(campaign.id) as exists:
            if not exists:
                return Charge(False, "budget")
            try:
                with transaction.atomic():
                    click = AdClick.objects.create(impression_id=impression_id, campaign_id=campaign.id)
            except IntegrityError:
                return Charge(False, "duplicate")
            day_row, _ = CampaignSpend.objects.get_or_create(campaign_id=campaign.id, day=local_day(now))
            total, today = _spent(campaign.id, day_row)
            fits = (
                total + cost <= campaign.total_budget_micros and today + cost <= campaign.daily_budget_micros
            )
            charged = cost if fits else 0
            CampaignSpend.objects.filter(pk=day_row.pk).update(
                spent_micros=F("spent_micros") + charged, clicks=F("clicks") + 1
            )
            if charged:
                AdClick.objects.filter(pk=click.pk).update(charged_micros=charged)
        return Charge(True, "" if fits or not cost else "unbilled", charged)

    def forget(self, subjects: list[str]) -> int:
        """Delete the subjects' frequency-cap counts; returns the rows removed."""
        return AdFrequency.objects.filter(subject__in=subjects).delete()[0]

    def counters(self, campaign_ids: list[int]) -> dict[int, Counters]:
        rows = (
            CampaignSpend.objects.filter(campaign_id__in=campaign_ids)
            .values("campaign_id")
            .annotate(i=Sum("impressions"), c=Sum("clicks"))
        )
        found = {row["campaign_id"]: Counters(int(row["i"] or 0), int(row["c"] or 0)) for row in rows}
        return {cid: found.get(cid, Counters()) for cid in campaign_ids}

    def spend(self, campaign_id: int, now: datetime) -> Spend:
        rows = CampaignSpend.objects.filter(campaign_id=campaign_id)
        total = rows.aggregate(s=Sum("spent_micros"))["s"] or 0
        today = rows.filter(day=local_day(now)).values_list("spent_micros", flat=True).first() or 0
        return Spend(int(total), int(today))
