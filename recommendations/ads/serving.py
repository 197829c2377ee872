"""Serve an ad slot: eligible campaigns ranked by expected value, each charged atomically before
it is shown, the impressions recorded as events.

Cost per call: the cached campaign list, one live-state read, at most one portrait query (only
when a campaign targets segments), one counters read, and one atomic charge per ad shown.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
from django.utils import timezone

from recommendations.ads.catalog import CampaignSnapshot, live_campaigns
from recommendations.ads.clicks import ClickToken, click_url
from recommendations.ads.events import ad_slot, record_ad_event
from recommendations.ads.ledger import get_ledger
from recommendations.ads.targeting import AdContext, matches
from recommendations.catalogue.products import get_adapter, get_product_model, product_info
from recommendations.conf import app_settings
from recommendations.connections import read_database
from recommendations.engine import ads as ad_math
from recommendations.subjects import Subject
from recommendations.tracking.visitors import Visitor, get_visitor

logger = logging.getLogger(__name__)
SPONSORED_LABEL = "Sponsored"


@dataclass(frozen=True)
class AdItem:
    """One served ad, ready to render (always with its "Sponsored" label)."""

    campaign_id: int
    slot: str  # "ads:<name>"
    position: int
    title: str
    image_url: str | None
    click_url: str  # the signed redirect: the only link an ad carries
    product: Any
    product_id: str | None
    price: Decimal | None
    impression_id: str
    predicted_ctr: float
    policy: str
    label: str = SPONSORED_LABEL
    is_sponsored: bool = True


def _segment_loader(visitor: Subject | None):
    def load() -> str | None:
        if visitor is None:
            return None
        from recommendations.models import Portrait

        rows = Portrait.objects.using(read_database()).all()
        if visitor.user_id not in (None, ""):
            rows = rows.filter(user_id=visitor.user_id)
        elif visitor.visitor_id is not None:
            rows = rows.filter(visitor_id=visitor.visitor_id)
        else:
            return None
        return rows.values_list("segment", flat=True).first()

    return load


def build_context(context: dict[str, Any], visitor: Subject | None, personal: bool) -> AdContext:
    product = context.get("product")
    product = None if product in (None, "") else str(getattr(product, "pk", product))
    info = product_info([product]).get(product) if product else None
    interest: dict[str, float] = {}
    if personal and visitor is not None and visitor.key:
        from recommendations.live import get_live_store

        interest = get_live_store().visitor_state(visitor.key).category_interest
    category = context.get("category")
    return AdContext(
        category=None if category in (None, "") else str(getattr(category, "pk", category)),
        product=product,
        product_categories=info.categories if info else (),
        query=str(context.get("query") or ""),
        interest=interest,
        segment_loader=_segment_loader(visitor) if personal else (lambda: None),
    )


def eligible(campaigns: list[CampaignSnapshot], ctx: AdContext, has_subject: bool) -> list[CampaignSnapshot]:
    """Targeting matches, the product creative is available, and a capped campaign is only
    shown to a visitor it can count (no subject: capped campaigns are skipped)."""
    chosen = [c for c in campaigns if matches(c, ctx) and (has_subject or c.frequency_cap == 0)]
    products = product_info([c.product_id for c in chosen if c.product_id])
    return [c for c in chosen if c.product_id is None or (products.get(c.product_id) or _GONE).available]


class _Gone:
    available = False


_GONE = _Gone()


def ranked(
    campaigns: list[CampaignSnapshot], ctx: AdContext, policy: str, counters: dict
) -> list[tuple[CampaignSnapshot, float]]:
    """Campaigns best first under ``policy``, each with its predicted CTR."""
    if not campaigns:
        return []
    product_cats = product_info([c.product_id for c in campaigns if c.product_id])
    affinity = []
    for c in campaigns:
        cats = set(c.categories)
        if c.product_id and product_cats.get(c.product_id):
            cats |= set(product_cats[c.product_id].categories)
        affinity.append(ad_math.category_affinity(ctx.interest, cats))
    ctr = ad_math.predicted_ctr(
        np.array([counters[c.id].clicks for c in campaigns]),
        np.array([counters[c.id].impressions for c in campaigns]),
        np.array(affinity),
        prior=tuple(app_settings.ADS_CTR_PRIOR),
        affinity_weight=app_settings.ADS_AFFINITY_WEIGHT,
    )
    order = ad_math.rank(
        ctr, np.array([c.bid_micros for c in campaigns]), np.array([c.is_cpm for c in campaigns]), policy
    )
    return [(campaigns[i], float(ctr[i])) for i in order]


def cookieless_subject(visitor: Visitor | None) -> str | None:
    """What a request without the visitor cookie is counted as: its network + User-Agent key,
    not the fresh visitor id it was given (a script that drops its cookies would otherwise be a
    new visitor, with a new frequency cap, on every request). A logged-in user is counted as
    themselves; a visitor built outside a request (no key) as its visitor id."""
    if visitor is None or visitor.user_id is not None or not visitor.cookieless_key:
        return None
    return visitor.cookieless_key


def _cookieless_terms(campaign: CampaignSnapshot) -> CampaignSnapshot:
    """The campaign as a cookieless client is charged for it: its own frequency cap, never more
    than ``ADS_COOKIELESS_FREQUENCY_CAP`` (uncapped campaigns included; 0 serves them none)."""
    limit = max(int(app_settings.ADS_COOKIELESS_FREQUENCY_CAP), 0)
    cap = min(campaign.frequency_cap, limit) if campaign.frequency_cap > 0 else limit
    return campaign if cap == campaign.frequency_cap else replace(campaign, frequency_cap=cap)


def _policy(slot: str, visitor: Subject | None, policy: str | None) -> str:
    if policy:
        return policy
    from recommendations.experiments.registry import variant_for

    variant = variant_for(ad_slot(slot), visitor)
    return variant.ranking_policy if variant is not None and variant.ranking_policy else "expected_value"


def serve_ads(
    request: Any,
    slot: str,
    *,
    context: dict[str, Any] | None = None,
    limit: int = 1,
    policy: str | None = None,
    visitor: Visitor | None = None,
) -> list[AdItem]:
    """Up to ``limit`` ads for the visitor behind ``request`` (or ``visitor``), charged and
    recorded. Bots get none; visitors who opted out get non-personal ads and no events."""
    if visitor is None and request is not None:
        visitor = get_visitor(request)
    if visitor is not None and visitor.is_bot:
        return []
    now = timezone.now()
    campaigns = live_campaigns(now)
    if not campaigns:
        return []
    personal = visitor is not None and not visitor.opted_out
    ref = None
    if visitor is not None:
        ref = Subject(user_id=visitor.user_id, visitor_id=visitor.visitor_id)
    ctx = build_context(context or {}, ref, personal)
    subject = ref.key if ref is not None else None
    fresh_visitor = None  # counted too, not checked: the visitor the response's cookie makes it
    cookieless = cookieless_subject(visitor)
    if cookieless is not None:
        subject, fresh_visitor = cookieless, subject
        campaigns = [_cookieless_terms(c) for c in campaigns]
        campaigns = [c for c in campaigns if c.frequency_cap > 0]
    candidates = eligible(campaigns, ctx, subject is not None)
    if not candidates:
        return []
    chosen_policy = _policy(slot, ref if personal else None, policy)
    ledger = get_ledger()
    order = ranked(candidates, ctx, chosen_policy, ledger.counters([c.id for c in candidates]))
    served: list[tuple[CampaignSnapshot, float, str]] = []
    shown_products: set[str] = set()
    for campaign, ctr in order:
        if len(served) >= limit:
            break
        if campaign.product_id and campaign.product_id in shown_products:
            continue
        if not ledger.charge_impression(campaign, subject, now, also=fresh_visitor).ok:
            continue
        served.append((campaign, ctr, uuid.uuid4().hex))
        if campaign.product_id:
            shown_products.add(campaign.product_id)
    return _items(served, slot, visitor, chosen_policy)


def _items(
    served: list[tuple[CampaignSnapshot, float, str]], slot: str, visitor: Visitor | None, policy: str
) -> list[AdItem]:
    adapter = get_adapter()
    pk_field = get_product_model()._meta.pk
    keys = [pk_field.to_python(c.product_id) for c, _, _ in served if c.product_id]
    products = adapter.queryset().in_bulk(keys) if keys else {}
    items: list[AdItem] = []
    for position, (campaign, ctr, impression_id) in enumerate(served):
        product = products.get(pk_field.to_python(campaign.product_id)) if campaign.product_id else None
        token = ClickToken(campaign.id, impression_id, ad_slot(slot), position)
        items.append(
            AdItem(
                campaign_id=campaign.id,
                slot=ad_slot(slot),
                position=position,
                title=adapter.title(product) if product is not None else campaign.banner_title,
                image_url=(adapter.image_url(product) if product is not None else campaign.banner_image_url)
                or None,
                click_url=click_url(token),
                product=product,
                product_id=campaign.product_id,
                price=adapter.price(product) if product is not None else None,
                impression_id=impression_id,
                predicted_ctr=ctr,
                policy=policy,
            )
        )
        record_ad_event(
            "impression",
            visitor,
            campaign_id=campaign.id,
            impression_id=impression_id,
            slot=ad_slot(slot),
            position=position,
            product_id=campaign.product_id,
            extra={"policy": policy},
        )
    return items
