"""recommend() on a trained test shop: known answers, live reaction, filters, reasons, queries."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command

from recommendations import modelstore as storage
from recommendations import tasks as dispatch
from recommendations.models import ActiveModel, ModelVersion
from recommendations.serving import Recommendation, recommend
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training

SLOTS = ["for_you", "similar", "bought_together", "cart", "trending", "recently_viewed", "search"]


@pytest.fixture
def trained(shop):
    visitors = shop.history()
    dispatch.rebuild_via_celery(chunk_items=5)  # eager Celery: chord of 4 chunk tasks
    return shop, visitors


def _ids(recs: list[Recommendation]) -> list[str]:
    return [r.product_id for r in recs]


def test_rebuild_through_celery_activates_a_ready_version(trained):
    active = ActiveModel.objects.get(kind="main").version
    assert active.status == ModelVersion.Status.READY
    assert active.n_items == 16
    assert not active.parts.filter(name__startswith="_").exists()  # chunk parts cleaned up


def test_disjoint_taste_groups_get_their_own_items(trained):
    shop, visitors = trained
    for visitor, own, other in ((visitors[0], shop.a, shop.b), (visitors[-1], shop.b, shop.a)):
        recs = recommend(Subject(None, visitor), "for_you", limit=4)
        assert len(recs) == 4
        assert set(_ids(recs)) <= shop.ids(own)
        assert not set(_ids(recs)) & shop.ids(other)


def test_similar_and_bought_together_stay_in_the_group(trained):
    shop, _ = trained
    for slot in ("similar", "bought_together"):
        recs = recommend(None, slot, {"product": str(shop.b[3].pk)}, limit=3)
        assert recs
        assert set(_ids(recs)) <= shop.ids(shop.b) - {str(shop.b[3].pk)}


def test_last_click_changes_for_you_without_a_rebuild(trained):
    shop, visitors = trained
    visitor = Subject(None, visitors[0])  # a camping shopper
    before = recommend(visitor, "for_you", limit=3)
    assert set(_ids(before)) <= shop.ids(shop.a)
    version = storage.active_version_id()
    import_events(
        [shop.event("view", item, visitors[0]) for item in (shop.b[5], shop.b[6], shop.b[5], shop.b[6])]
    )
    after = recommend(visitor, "for_you", limit=3)
    assert storage.active_version_id() == version
    assert set(_ids(after)) & shop.ids(shop.b), "the kitchen clicks must pull kitchen items in"
    assert after[0].reason_code in {"session", "viewed"}


def test_filters_purchased_in_cart_unavailable_and_excluded(trained):
    shop, _visitors = trained
    visitor = uuid.uuid4()
    import_events(
        [
            shop.event("view", shop.a[0], visitor),
            shop.event("purchase", shop.a[1], visitor, order_id="x1"),
            shop.event("add_to_cart", shop.a[2], visitor),
        ]
    )
    shop.a[3].active = False
    shop.a[3].save()
    banned = {str(shop.a[i].pk) for i in (1, 2, 3, 4)}
    for slot in ("for_you", "similar", "bought_together", "cart", "search"):
        recs = recommend(
            Subject(None, visitor),
            slot,
            {"product": str(shop.a[0].pk), "exclude": [str(shop.a[4].pk)], "query": "tent"},
            limit=16,
        )
        assert not set(_ids(recs)) & banned, slot


def test_every_item_has_a_reason_in_every_slot(trained):
    shop, visitors = trained
    context = {"product": str(shop.a[0].pk), "cart": [str(shop.a[1].pk)], "query": "pan"}
    for slot in SLOTS:
        recs = recommend(Subject(None, visitors[1]), slot, context)
        assert recs, slot
        assert all(r.reason and r.reason_code and r.source for r in recs), slot
        assert len(set(_ids(recs))) == len(recs)
    viewed = [r for r in recommend(Subject(None, visitors[1]), "for_you") if r.reason_code == "viewed"]
    assert viewed
    assert all(r.evidence and r.reason.startswith("Because you viewed Tent") for r in viewed)


def test_category_and_price_constraints(trained):
    shop, visitors = trained
    recs = recommend(Subject(None, visitors[0]), "trending", {"category": shop.outdoor.pk})
    assert recs
    assert set(_ids(recs)) <= shop.ids(shop.a)
    cheap = recommend(None, "trending", {"max_price": 24})
    assert cheap
    assert all(float(shop_price) <= 24 for shop_price in _prices(shop, _ids(cheap)))


def _prices(shop, ids):
    by_id = {str(i.pk): i.price for i in shop.a + shop.b}
    return [by_id[i] for i in ids]


def test_unknown_slot_names_the_valid_ones(trained):
    with pytest.raises(ValueError, match="for_you"):
        recommend(None, "nope")


def test_a_failed_build_never_replaces_the_active_version(trained, monkeypatch):
    _shop, visitors = trained
    good = storage.active_version_id()
    expected = _ids(recommend(Subject(None, visitors[0]), "for_you"))

    def explode(*args, **kwargs):
        raise RuntimeError("disk full halfway")

    monkeypatch.setattr(training, "knn_block", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        dispatch.rebuild_via_celery(chunk_items=5)
    failed = ModelVersion.objects.order_by("-pk").first()
    assert failed.pk != good
    assert failed.status == ModelVersion.Status.FAILED
    assert failed.parts.exists()  # it was half written ...
    storage.clear_cache()
    assert storage.active_version_id() == good  # ... and never served
    assert _ids(recommend(Subject(None, visitors[0]), "for_you")) == expected


def test_swap_is_seen_and_old_versions_are_pruned(trained, settings):
    settings.RECOMMENDATIONS_KEEP_MODEL_VERSIONS = 1
    first = storage.active_version_id()
    ids = [training.rebuild() for _ in range(3)]
    assert storage.active_version_id() == ids[-1] != first
    assert set(ModelVersion.objects.values_list("pk", flat=True)) == set(ids[-2:])


def test_query_count_is_bounded_once_models_are_cached(trained, django_assert_max_num_queries, settings):
    shop, visitors = trained
    settings.RECOMMENDATIONS_MODEL_CHECK_SECONDS = 3600  # no version re-check inside the count
    visitor = Subject(None, visitors[2])
    for slot in SLOTS:
        recommend(visitor, slot, {"product": str(shop.a[0].pk)})  # warm: model + product info
    with django_assert_max_num_queries(0):
        for slot in SLOTS:
            recommend(visitor, slot, {"product": str(shop.a[0].pk)})


def test_management_command_rebuilds(shop, capsys):
    shop.history(visitors_per_group=3)
    call_command("recommendations_rebuild", "--chunk-items", "4")
    out = capsys.readouterr().out
    assert "similarity chunk 4/4" in out
    assert "active model version" in out
    call_command("recommendations_rebuild", "--celery")
    assert ModelVersion.objects.filter(status="ready").count() == 2
