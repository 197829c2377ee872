"""Serving ad slots: targeting, ranking by expected value, the tag's "Sponsored" label, the API,
events, and the signed click redirect."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.template import Context, Template

from recommendations.ads.blending import blend, max_sponsored
from recommendations.ads.catalog import CampaignSnapshot
from recommendations.ads.serving import serve_ads
from recommendations.ads.targeting import AdContext, matches
from recommendations.models import CampaignSpend, Event, Portrait

pytestmark = pytest.mark.django_db


def test_targeting_rules(make_campaign, item, category):
    snap = CampaignSnapshot.of
    anywhere = snap(make_campaign())
    tents = snap(make_campaign(target_categories=[str(category.pk)]))
    words = snap(make_campaign(target_keywords=["Sleeping Bag", "tent"]))
    page = snap(make_campaign(target_products=[str(item.pk)]))
    loyal = snap(make_campaign(target_segments=["loyal"]))
    home = AdContext()
    assert matches(anywhere, home)
    assert not any(matches(c, home) for c in (tents, words, page, loyal))
    assert matches(tents, AdContext(category=str(category.pk)))
    assert matches(tents, AdContext(product_categories=("1", str(category.pk))))
    assert matches(tents, AdContext(interest={str(category.pk): 3.0}))  # behavioural
    assert matches(words, AdContext(query="cheap sleeping bag!"))
    assert matches(words, AdContext(query="TENT pegs"))
    assert not matches(words, AdContext(query="tentacles"))  # whole words only
    assert matches(page, AdContext(product=str(item.pk)))
    assert not matches(page, AdContext(product=str(uuid.uuid4())))
    assert matches(loyal, AdContext(segment_loader=lambda: "loyal"))
    assert not matches(loyal, AdContext(segment_loader=lambda: "new"))


def test_segment_targeting_reads_the_portrait(make_campaign, browser_request):
    make_campaign(name="loyal only", target_segments=["loyal"])
    request = browser_request()
    assert serve_ads(request, "home") == []
    from recommendations.tracking.visitors import get_visitor

    Portrait.objects.create(visitor_id=get_visitor(request).visitor_id, segment="loyal")
    assert [ad.title for ad in serve_ads(request, "home")] == ["Summer sale"]


def test_ranked_by_expected_value(make_campaign, browser_request):
    high_bid = make_campaign(name="high bid", banner_title="A", bid_amount=Decimal("1.00"))
    proven = make_campaign(name="proven", banner_title="B", bid_amount=Decimal("0.50"))
    make_campaign(name="cpm", banner_title="C", bid_type="cpm", bid_amount=Decimal("5.00"))
    # no history: predicted CTR = prior 1% for both CPC; EV 0.01 x 1.00 beats 0.01 x 0.50 and 5.00 / 1000
    assert serve_ads(browser_request(), "home", limit=3)[0].campaign_id == high_bid.pk
    # B has 50 clicks in 100 impressions: (50 + 1) / (100 + 100) x 0.50 = 0.1275 > 0.0100
    CampaignSpend.objects.create(campaign=proven, day="2030-01-01", impressions=100, clicks=50)
    ads = serve_ads(browser_request(), "home", limit=3)
    assert [ad.campaign_id for ad in ads][:2] == [proven.pk, high_bid.pk]
    assert ads[0].predicted_ctr == pytest.approx(51 / 200, rel=0.01)
    # an explicit policy (what an experiment variant sets) changes the order
    assert serve_ads(browser_request(), "home", limit=1, policy="bid")[0].campaign_id == high_bid.pk


def test_affinity_lifts_a_targeted_campaign(make_campaign, browser_request, item, category):
    from recommendations.schema import EventIn
    from recommendations.tracking.recorder import record_for_request

    plain = make_campaign(name="plain", bid_amount=Decimal("0.60"))
    tents = make_campaign(name="tents", bid_amount=Decimal("0.50"), target_categories=[str(category.pk)])
    request = browser_request()
    assert serve_ads(request, "home", limit=2)[0].campaign_id == plain.pk  # 0.01 x 0.60 > 0.01 x 0.50
    record_for_request(request, [EventIn(kind="view", product_id=str(item.pk))], source="api")
    # interest in the tents category: 0.01 x (1 + 1) x 0.50 = 0.010 > 0.006
    assert serve_ads(request, "home", limit=2)[0].campaign_id == tents.pk


def test_tag_renders_sponsored_label_and_records_impression(make_campaign, browser_request):
    campaign = make_campaign()
    request = browser_request()
    html = Template('{% load recommendations_ads %}{% ad_slot "home" %}').render(
        Context({"request": request})
    )
    assert "Sponsored" in html and "Summer sale" in html
    assert "/api/recommendations/ads/click/" in html
    assert "shop.example" not in html  # the only link is the signed redirect
    event = Event.objects.get(kind="impression", slot="ads:home")
    assert event.context["source"] == f"ad:{campaign.pk}"
    assert event.product_id is None  # a banner


def test_bots_and_inactive_campaigns_get_nothing(make_campaign, rf):
    from django.contrib.auth.models import AnonymousUser

    make_campaign(status="paused")
    make_campaign(name="future", starts_at="2999-01-01T00:00:00Z")
    make_campaign(name="live")
    bot = rf.get("/", HTTP_USER_AGENT="Googlebot/2.1")
    bot.user = AnonymousUser()
    assert serve_ads(bot, "home") == []
    assert Event.objects.count() == 0


def test_api_serves_and_click_redirects_only_to_the_campaign_target(client, make_campaign, browser_ua):
    campaign = make_campaign(target_keywords=["tent"])
    assert client.get("/api/recommendations/ads/search/", **browser_ua).json()["results"] == []
    response = client.get("/api/recommendations/ads/search/", {"query": "blue tent"}, **browser_ua)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    (ad,) = response.json()["results"]
    assert ad["label"] == "Sponsored" and ad["campaign_id"] == campaign.pk
    click = client.get(ad["click_url"] + "?next=https://evil.example/", **browser_ua)
    assert click.status_code == 302 and click["Location"] == "https://shop.example/sale/"
    clicks = Event.objects.filter(kind="click", slot="ads:search")
    assert clicks.count() == 1 and clicks.get().context["source"] == f"ad:{campaign.pk}"
    client.get(ad["click_url"], **browser_ua)  # a reload is not a second click
    assert clicks.count() == 1


def test_click_redirect_rejects_tampering(client, make_campaign, browser_ua):
    from django.core import signing

    from recommendations import attribution

    make_campaign()
    other = make_campaign(name="other", target_url="https://other.example/")
    url = client.get("/api/recommendations/ads/home/", **browser_ua).json()["results"][0]["click_url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    forged_payload = signing.dumps([other.pk, "x", "ads:home", 0], salt="another-salt")
    recommendation_token = attribution.sign(attribution.Token("for_you", "itemknn", 0, "1", "r"))
    for bad in (tampered, forged_payload, recommendation_token, "https:--evil.example", "x"):
        response = client.get(f"/api/recommendations/ads/click/{bad}/", **browser_ua)
        assert response.status_code == 400, bad
        assert "Location" not in response


def test_product_creative_links_to_its_product_page(client, make_campaign, item, browser_ua):
    make_campaign(product=item, banner_title="", target_url="")
    (ad,) = client.get("/api/recommendations/ads/home/", **browser_ua).json()["results"]
    assert ad["title"] == item.name and ad["product_id"] == str(item.pk)
    assert client.get(ad["click_url"], **browser_ua)["Location"] == item.get_absolute_url()
    assert Event.objects.filter(kind="impression", product_id=item.pk, slot="ads:home").exists()


def test_banner_target_url_validation(make_campaign):
    from django.core.exceptions import ValidationError

    for bad in ("javascript:alert(1)", "//evil.example/", "ftp://x.example/"):
        with pytest.raises(ValidationError):
            make_campaign(target_url=bad)
    assert make_campaign(target_url="/sale/").target_url == "/sale/"


def test_blend_caps_the_sponsored_share():
    organic = [f"o{n}" for n in range(10)]
    sponsored = ["s0", "s1", "s2", "s3", "o2"]
    key = lambda value: value.lstrip("so")  # noqa: E731 - "o2" and "s2" name the same product
    out = blend(organic, sponsored, limit=8, max_share=0.25, positions=(1, 5, 9), key=key)
    assert len(out) == 8
    assert sum(v.startswith("s") for v in out) == max_sponsored(8, 0.25) == 2
    assert out[1] == "s0" and out[5] == "s1"
    assert "o0" not in out and "o1" not in out and out[0] == "o2"  # o0, o1 duplicate s0, s1
    assert blend(organic, sponsored, limit=4, max_share=0.0) == organic[:4]


def test_blended_slot_tag(settings, make_campaign, items, browser_request):
    settings.RECOMMENDATIONS_SERVING_RAISE_ERRORS = True
    make_campaign(product=items[0], banner_title="", target_url="")
    template = Template(
        '{% load recommendations_ads %}{% blended_slot "trending" ads="home" limit=4 max_share=0.25 %}'
    )
    html = template.render(Context({"request": browser_request()}))
    assert html.count("rec-item--sponsored") == 1 and "Sponsored" in html
    assert html.count('<li class="rec-item') == 4
    assert html.count(f'data-rec-product="{items[0].pk}"') == 0  # not also shown as organic
