"""Per-variant results of an experiment, computed from the event log.

Exposure: an identity (see :mod:`.assignment`) is in the experiment from its first impression in
the experiment's slot within the experiment's window; its variant is recomputed from the hash,
so nothing but events is needed. Per variant: exposed visitors, impressions, clicks, CTR,
conversions (visitors with a purchase after exposure), conversion rate and revenue per visitor,
each compared with the first variant (the control) with a two-sided test and a 95% interval.

Below ``RECOMMENDATIONS_EXPERIMENTS_MIN_SAMPLE`` per variant (impressions for CTR, exposed
visitors for conversion and revenue) a metric has no interval and no test, only a note saying how
much data it has and needs: with a handful of visitors the normal approximations behind them give
exact-looking nonsense ("1.0000 [1.0000, 1.0000]", "[nan, nan]").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.engine import stats
from recommendations.experiments.assignment import bucket, identities_of_users
from recommendations.models import Event, Experiment

CONFIDENCE = 0.95
PEEKING_NOTE = (
    "Decide the sample size before starting and read the result once, when it is reached. "
    "Checking repeatedly and stopping at the first p < 0.05 makes false winners far more likely "
    "than 5%."
)


@dataclass
class VariantResult:
    name: str
    visitors: int = 0
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: float = 0.0
    revenue_by_visitor: list[float] = field(default_factory=list)
    ctr_interval: tuple[float, float] = (0.0, 1.0)
    conversion_interval: tuple[float, float] = (0.0, 1.0)
    ctr_test: stats.ProportionTest | None = None
    conversion_test: stats.ProportionTest | None = None
    revenue_test: stats.MeanTest | None = None
    is_control: bool = False
    # "" when the metric has enough data, else why it shows none ("not enough data: 3 of 100 ...").
    ctr_note: str = ""
    conversion_note: str = ""
    revenue_note: str = ""

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.visitors if self.visitors else None

    @property
    def revenue_per_visitor(self) -> float | None:
        return self.revenue / self.visitors if self.visitors else None


@dataclass
class ExperimentReport:
    experiment: Experiment
    variants: list[VariantResult]
    since: datetime | None
    until: datetime
    note: str = PEEKING_NOTE


def _identity(user_id: object, visitor_id: object, users: dict[str, str]) -> str | None:
    if user_id is not None:
        return users.get(str(user_id), f"u:{user_id}")
    return None if visitor_id is None else f"v:{visitor_id}"


def experiment_report(experiment: Experiment, now: datetime | None = None) -> ExperimentReport:
    until = min(experiment.ended_at or (now or timezone.now()), now or timezone.now())
    since = experiment.started_at
    variants = [v for v in experiment.variants.all() if v.weight > 0]
    results = [VariantResult(v.name, is_control=i == 0) for i, v in enumerate(variants)]
    if not variants:
        return ExperimentReport(experiment, results, since, until)
    weights = [v.weight for v in variants]
    window = Event.objects.filter(created_at__lte=until)
    if since is not None:
        window = window.filter(created_at__gte=since)
    slot_rows = list(
        window.filter(slot=experiment.slot, kind__in=("impression", "click")).values_list(
            "kind", "user_id", "visitor_id", "created_at"
        )
    )
    users = identities_of_users(sorted({str(r[1]) for r in slot_rows if r[1] is not None}))
    exposed: dict[str, datetime] = {}
    arm: dict[str, int] = {}
    for kind, user_id, visitor_id, created_at in slot_rows:
        identity = _identity(user_id, visitor_id, users)
        if identity is None:
            continue
        index = arm.setdefault(identity, bucket(identity, experiment.salt, weights))
        if kind == "impression":
            results[index].impressions += 1
            if identity not in exposed or created_at < exposed[identity]:
                exposed[identity] = created_at
        else:
            results[index].clicks += 1
    revenue: dict[str, float] = defaultdict(float)
    purchases = list(
        window.filter(kind="purchase").values_list(
            "user_id", "visitor_id", "created_at", "quantity", "unit_price"
        )
    )
    more_users = {str(r[0]) for r in purchases if r[0] is not None} - users.keys()
    users.update(identities_of_users(sorted(more_users)))
    converted: set[str] = set()
    for user_id, visitor_id, created_at, quantity, unit_price in purchases:
        identity = _identity(user_id, visitor_id, users)
        start = exposed.get(identity) if identity else None
        if start is None or created_at < start:
            continue
        converted.add(identity)
        revenue[identity] += float((unit_price or Decimal(0)) * (quantity or 1))
    for identity in exposed:
        result = results[arm[identity]]
        result.visitors += 1
        result.conversions += identity in converted
        result.revenue += revenue.get(identity, 0.0)
        result.revenue_by_visitor.append(revenue.get(identity, 0.0))
    _compare(results)
    return ExperimentReport(experiment, results, since, until)


def min_sample() -> int:
    """Per-variant sample below which a metric shows no interval and no test (at least 2: a
    variance needs two observations)."""
    return max(2, int(app_settings.EXPERIMENTS_MIN_SAMPLE))


def _shortfall(n: int, control_n: int, unit: str, is_control: bool) -> str:
    need = min_sample()
    if n < need:
        return f"not enough data: {n} of {need} {unit}"
    if not is_control and control_n < need:
        return f"not enough data in the control: {control_n} of {need} {unit}"
    return ""


def _compare(results: list[VariantResult]) -> None:
    control = results[0]
    for result in results:
        result.ctr_note = _shortfall(
            result.impressions, control.impressions, "impressions", result.is_control
        )
        result.conversion_note = _shortfall(result.visitors, control.visitors, "visitors", result.is_control)
        result.revenue_note = result.conversion_note
        if result.impressions >= min_sample():
            result.ctr_interval = stats.wilson_interval(result.clicks, result.impressions, CONFIDENCE)
        if result.visitors >= min_sample():
            result.conversion_interval = stats.wilson_interval(
                result.conversions, result.visitors, CONFIDENCE
            )
    for result in results[1:]:
        if not result.ctr_note:
            result.ctr_test = stats.two_proportion_ztest(
                control.clicks, control.impressions, result.clicks, result.impressions, CONFIDENCE
            )
        if not result.conversion_note:
            result.conversion_test = stats.two_proportion_ztest(
                control.conversions, control.visitors, result.conversions, result.visitors, CONFIDENCE
            )
            result.revenue_test = stats.welch_ttest(
                np.asarray(control.revenue_by_visitor), np.asarray(result.revenue_by_visitor), CONFIDENCE
            )
