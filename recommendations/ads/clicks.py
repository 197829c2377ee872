"""Signed click links: ``/api/recommendations/ads/click/<token>/``.

The token names the campaign and the served impression, never a URL: the redirect goes to the
campaign's own target (its product page, or its banner target URL as saved and validated in
admin), so the endpoint cannot be used as an open redirect. A forged or altered token is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse
from django.utils import timezone

from recommendations.ads.catalog import CampaignSnapshot
from recommendations.ads.events import record_ad_event
from recommendations.ads.ledger import get_ledger
from recommendations.catalogue.products import get_adapter
from recommendations.conf import app_settings
from recommendations.models import Campaign
from recommendations.models.ads import validate_target_url
from recommendations.tracking.visitors import Visitor

SALT = "recommendations.ad-click"


@dataclass(frozen=True)
class ClickToken:
    campaign_id: int
    impression_id: str
    slot: str
    position: int


class InvalidClick(ValueError):
    """The token is forged, altered, expired, or names no campaign with a valid target."""


def sign(token: ClickToken) -> str:
    return signing.dumps([token.campaign_id, token.impression_id, token.slot, token.position], salt=SALT)


def unsign(value: str) -> ClickToken:
    try:
        campaign_id, impression_id, slot, position = signing.loads(
            value, salt=SALT, max_age=app_settings.ADS_CLICK_MAX_AGE_SECONDS
        )
        return ClickToken(int(campaign_id), str(impression_id), str(slot), int(position))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidClick("Invalid or expired ad click token.") from exc


def click_url(token: ClickToken) -> str:
    return reverse("recommendations:ad-click", kwargs={"token": sign(token)})


def target_of(campaign: Campaign) -> str:
    """The campaign's own destination; raises :class:`InvalidClick` when it has none that is safe."""
    if campaign.product_id is not None and campaign.product is not None:
        url = get_adapter().url(campaign.product)
    else:
        url = campaign.target_url
    try:
        validate_target_url(url)
    except Exception as exc:
        raise InvalidClick("The campaign has no valid target URL.") from exc
    return url


def handle_click(value: str, visitor: Visitor | None) -> str:
    """Verify the token, count and charge the click (once per impression), record the event and
    return the URL to redirect to."""
    token = unsign(value)
    campaign = Campaign.objects.select_related("product").filter(pk=token.campaign_id).first()
    if campaign is None:
        raise InvalidClick("The campaign no longer exists.")
    url = target_of(campaign)
    charge = None
    if campaign.status == Campaign.Status.ACTIVE:
        charge = get_ledger().charge_click(CampaignSnapshot.of(campaign), token.impression_id, timezone.now())
    if charge is None or charge.reason != "duplicate":
        record_ad_event(
            "click",
            visitor,
            campaign_id=campaign.pk,
            impression_id=token.impression_id,
            slot=token.slot,
            position=token.position,
            product_id=None if campaign.product_id is None else str(campaign.product_id),
            extra={"charged_micros": charge.charged_micros if charge else 0},
        )
    return url
