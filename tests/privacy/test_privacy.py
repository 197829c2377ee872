"""Privacy: export everything, erase everything (proven by scanning every store), retention."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import serializers
from django.utils import timezone

from recommendations import modelstore, runtime, signals
from recommendations.live import visitor_state
from recommendations.models import (
    AdFrequency,
    Assignment,
    DailyEventCount,
    Event,
    VisitorLink,
)
from recommendations.privacy import service as privacy
from recommendations.schema import EventIn
from recommendations.tracking.bulk import import_events
from recommendations.tracking.visitors import get_visitor
from recommendations.training import pipeline as training

API = "/api/recommendations"


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann", password="pw")


def _settle():
    """In Redis mode, move what is in the stream into the database (the beat task's job)."""
    if runtime.redis_client() is not None:
        from recommendations.ingest.stream import drain

        drain()


def _shopper_with_history(client, shop, ann, browser_ua, *, ads=False):
    """Ann browses anonymously, logs in, browses and buys; then the models are rebuilt. With
    ``ads``, she is also shown a frequency-capped ad before and after logging in (a cap count per
    visitor and per user) under a running ad experiment (an assignment row)."""
    for item in shop.a[:2]:
        client.get(f"/items/{item.pk}/", **browser_ua)
    if ads:
        assert client.get(f"{API}/ads/home/", **browser_ua).json()["results"]
    _settle()
    visitor_id = Event.objects.get(product_id=shop.a[0].pk).visitor_id
    client.post("/login/", {"username": "ann", "password": "pw"}, **browser_ua)
    client.get(f"/items/{shop.a[3].pk}/", **browser_ua)
    if ads:
        assert client.get(f"{API}/ads/home/", **browser_ua).json()["results"]
    # The purchase comes from the shop's server (the HTTP API does not accept purchases).
    signals.order_placed.send(
        sender=None, user=ann, visitor_id=visitor_id, order_id="o1", lines=[(shop.a[3], 1, None)]
    )
    shop.history()
    _settle()
    training.rebuild()
    return visitor_id


def _everything_in_the_database() -> str:
    """Every row of every model of the app, serialised, plus the decoded model parts."""
    config = apps.get_app_config("recommendations")
    text = [serializers.serialize("json", model._default_manager.all()) for model in config.get_models()]
    text.extend(
        json.dumps({k: v.tolist() for k, v in arrays.items()}, default=str)
        for _name, arrays in modelstore.iter_parts(None)
    )
    return "\n".join(text)


def _everything_in_redis() -> str:
    client = runtime.redis_client()
    if client is None:
        return ""
    prefix = runtime.live_store().prefix
    out = []
    for key in client.scan_iter(match=f"{prefix}*"):
        kind = client.type(key).decode()
        value = {
            "string": lambda k: client.get(k),
            "list": lambda k: client.lrange(k, 0, -1),
            "hash": lambda k: client.hgetall(k),
            "stream": lambda k: client.xrange(k),
        }.get(kind, lambda k: b"")(key)
        out.append(f"{key!r} {value!r}")
    return "\n".join(out)


def test_export_holds_everything_about_the_user(client, shop, ann, browser_ua):
    visitor_id = _shopper_with_history(client, shop, ann, browser_ua)
    data = privacy.export_user_data(ann)
    assert data["visitor_ids"] == [str(visitor_id)]
    assert {e["kind"] for e in data["events"]} == {"view", "purchase"}
    assert len(data["events"]) == Event.objects.filter(user=ann).count() == 4
    assert data["live_state"][f"u:{ann.pk}"]["recent_items"][0]["product_id"] == str(shop.a[3].pk)
    assert data["model_rows"] and data["model_rows"][0]["row"] >= 0
    json.dumps(data)  # JSON-ready


@pytest.fixture
def capped_ad_under_experiment(make_campaign, settings):
    """A frequency-capped CPM campaign on the "home" ad slot, ranked under a running experiment
    whose assignments are recorded."""
    from recommendations.models import Experiment, Variant

    settings.RECOMMENDATIONS_EXPERIMENTS_RECORD_ASSIGNMENTS = True
    make_campaign(bid_type="cpm", bid_amount=Decimal("5.00"), frequency_cap=3)
    experiment = Experiment.objects.create(name="policy", slot="ads:home", status="running")
    Variant.objects.create(experiment=experiment, name="ev", ranking_policy="expected_value")
    Variant.objects.create(experiment=experiment, name="ctr", ranking_policy="ctr")


@pytest.mark.parametrize("mode", ["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def test_erasure_leaves_nothing_anywhere(
    client, shop, ann, browser_ua, mode, request, capped_ad_under_experiment
):
    """Every table, decoded model part and Redis key, searched for the user's ids. Issue 10 item
    10: ad frequency-cap counts (Redis keys or AdFrequency rows, for the visitor and the user) and
    experiment Assignment rows were left behind."""
    if mode == "redis":
        request.getfixturevalue("redis_settings")
    visitor_id = _shopper_with_history(client, shop, ann, browser_ua, ads=True)
    client.get(f"/items/{shop.a[5].pk}/", **browser_ua)  # still in the stream at erasure time
    markers = [str(visitor_id), f"u:{ann.pk}"]
    before = _everything_in_the_database() + _everything_in_redis()
    assert all(marker in before for marker in markers)

    removed = privacy.erase_user_data(ann)

    # 5 events of her own and the 2 impressions of the ads she was shown
    assert removed["events"] == 7 and removed["visitor_links"] == 1 and removed["model_rows"] >= 1
    assert removed["ad_frequency_caps"] == 2 and removed["experiment_assignments"] == 1
    after = _everything_in_the_database() + _everything_in_redis()
    for marker in markers:
        assert marker not in after, marker
    assert not Event.objects.filter(user=ann).exists()
    assert not VisitorLink.objects.exists()
    assert visitor_state(user=ann).is_empty and visitor_state(visitor_id=visitor_id).is_empty
    # other shoppers are untouched, and serving still works on the redacted model
    assert Event.objects.exclude(visitor_id=visitor_id).exists()
    response = client.get(f"{API}/for-you/")
    assert response.status_code == 200


def test_user_can_export_and_erase_through_the_api(client, shop, ann, browser_ua):
    _shopper_with_history(client, shop, ann, browser_ua)
    exported = client.get(f"{API}/me/data/")
    assert exported.status_code == 200
    assert exported["Cache-Control"] == "private, no-store"
    assert len(exported.json()["events"]) == 4
    erased = client.delete(f"{API}/me/data/")
    assert erased.status_code == 200 and erased.json()["erased"]["events"] == 4
    assert client.get(f"{API}/me/data/").json()["events"] == []


def test_anonymous_visitor_can_export_its_own_data_only(client, shop, browser_ua):
    client.get(f"/items/{shop.a[0].pk}/", **browser_ua)
    other = client.__class__()
    other.get(f"/items/{shop.b[0].pk}/", **browser_ua)
    events = client.get(f"{API}/me/data/").json()["events"]
    assert [e["product_id"] for e in events] == [str(shop.a[0].pk)]


@pytest.mark.parametrize("mode", ["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def test_anonymous_erasure_takes_its_ad_caps_and_assignment_only(
    client, shop, browser_ua, mode, request, capped_ad_under_experiment
):
    if mode == "redis":
        request.getfixturevalue("redis_settings")
    other = client.__class__()
    for shopper in (client, other):
        assert shopper.get(f"{API}/ads/home/", **browser_ua).json()["results"]
    mine = str(get_visitor(client.get("/ping/", **browser_ua).wsgi_request).visitor_id)
    assert mine in _everything_in_the_database() + _everything_in_redis()

    erased = client.delete(f"{API}/me/data/").json()["erased"]

    assert (erased["ad_frequency_caps"], erased["experiment_assignments"]) == (1, 1)
    left = _everything_in_the_database() + _everything_in_redis()
    assert mine not in left
    assert Assignment.objects.count() == 1  # the other visitor's
    # Left: the other visitor's count, and (issue 10 item 11) the count of the network + browser
    # both first, cookieless requests came from: shared by whoever sends no cookie from there,
    # keyed by the day, so not hers to erase (nor linkable to her).
    assert sorted(subject[:2] for subject in _ad_cap_subjects()) == ["c:", "v:"]


def _ad_cap_subjects() -> list[str]:
    """The subjects of every frequency-cap count, in whichever ledger holds them."""
    client = runtime.redis_client()
    if client is None:
        return list(AdFrequency.objects.values_list("subject", flat=True))
    keys = client.scan_iter(match=f"{runtime.live_store().prefix}*:seen:*")
    return [key.decode().rsplit(":seen:", 1)[1].split(":", 1)[1] for key in keys]


def test_opted_out_visitor_gets_non_personal_slots_only(client, shop, browser_ua):
    shop.history()
    training.rebuild()
    for item in shop.b[:3]:
        client.get(f"/items/{item.pk}/", **browser_ua)
    personal = [r["product_id"] for r in client.get(f"{API}/for-you/", {"limit": 4}).json()["results"]]
    client.post(f"{API}/consent/", {"opt_out": True}, content_type="application/json")
    after = [r["product_id"] for r in client.get(f"{API}/for-you/", {"limit": 4}).json()["results"]]
    stranger = [
        r["product_id"] for r in client.__class__().get(f"{API}/for-you/", {"limit": 4}).json()["results"]
    ]
    assert set(personal) <= shop.ids(shop.b)
    assert after == stranger  # exactly what a brand-new visitor sees


def test_retention_rolls_up_then_purges_and_never_double_counts(db, item):
    old = timezone.now() - timedelta(days=40)
    visitor = uuid.uuid4()
    events = [
        EventIn(kind="view", product_id=str(item.pk), visitor_id=visitor, created_at=old) for _ in range(3)
    ]
    events.append(EventIn(kind="purchase", product_id=str(item.pk), visitor_id=visitor, created_at=old,
                          order_id="o1", quantity=2, unit_price=Decimal("9.50")))  # fmt: skip
    events.append(EventIn(kind="view", product_id=str(item.pk), visitor_id=visitor))  # recent: kept
    import_events(events)
    assert privacy.purge_old_events(days=30)["purged"] == 4
    assert privacy.purge_old_events(days=30)["purged"] == 0
    assert Event.objects.count() == 1
    views = DailyEventCount.objects.get(kind="view")
    purchase = DailyEventCount.objects.get(kind="purchase")
    assert (views.events, views.day) == (3, old.date())
    assert (purchase.events, purchase.quantity, purchase.revenue) == (1, 2, Decimal("19.00"))


def test_retention_disabled_keeps_everything(db, item, settings):
    settings.RECOMMENDATIONS_RETENTION_DAYS = None
    old = timezone.now() - timedelta(days=4000)
    import_events([EventIn(kind="view", product_id=str(item.pk), visitor_id=uuid.uuid4(), created_at=old)])
    assert privacy.purge_old_events()["purged"] == 0


def test_pseudonyms_are_stable_and_not_the_id():
    assert privacy.pseudonym("u:42") == privacy.pseudonym("u:42")
    assert privacy.pseudonym("u:42") != privacy.pseudonym("u:43")
    assert "42" not in privacy.pseudonym("u:42")
