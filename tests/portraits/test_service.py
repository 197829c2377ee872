"""Portrait service: events in the database -> a Portrait row; debouncing; bulk; privacy hooks."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from recommendations import portraits as service
from recommendations import taskqueue, tasks
from recommendations.models import Portrait, TrackingPreference
from recommendations.portraits import get_portrait, scheduling
from recommendations.schema import EventIn
from recommendations.tracking.bulk import import_events
from tests.portraits.conftest import anonymous_views


def test_portrait_built_from_imported_events(camper, shop):
    portrait = service.rebuild(user=camper)
    assert portrait is not None
    # camping (and its parent outdoor) dominate: a view, a cart and a purchase vs one pan view
    top = [c["label"] for c in portrait.categories[:2]]
    assert top == ["Outdoor", "Camping"] or top == ["Camping", "Outdoor"]
    assert portrait.categories[0]["score"] == 1.0
    kitchen = next(c for c in portrait.categories if c["label"] == "Kitchen")
    assert 0 < kitchen["score"] < 0.2
    assert portrait.frequency == 1
    assert portrait.monetary == Decimal("151.00")
    assert portrait.lifetime_value == Decimal("151.00")
    assert portrait.sessions == 2
    assert portrait.search_terms == [["tent", 1]]
    assert portrait.segment == "new"
    assert portrait.n_events == 7
    assert sum(portrait.activity["daily"]) == 7
    assert portrait.next_categories[0]["label"] in {"Camping", "Kitchen"}
    # catalogue: pans 20..27, tents 50..57; the weighted median price 50 sits at mid-rank 17/32
    assert portrait.median_price == 50.0
    assert portrait.price_band == "mid"
    # purchases x4 (50, 51), cart x2 (50), views x1 (50, 20, 51), as mid-rank percentiles
    expected = (4 * 17 + 4 * 19 + 2 * 17 + 17 + 1 + 19) / 32 / 13
    assert portrait.purchasing_power == pytest.approx(expected)


def test_opted_out_user_gets_no_portrait_and_loses_the_old_one(camper):
    assert service.rebuild(user=camper) is not None
    TrackingPreference.objects.create(user=camper, opted_out=True)
    assert service.rebuild(user=camper) is None
    assert not Portrait.objects.filter(user=camper).exists()
    assert get_portrait(camper) is None


def test_segment_thresholds_come_from_settings(camper, settings):
    assert service.rebuild(user=camper).segment == "new"
    settings.RECOMMENDATIONS_PORTRAIT_SEGMENTS = {
        "churned_days": 120.0,
        "at_risk_days": 45.0,
        "big_spender_monetary": 100.0,
        "loyal_orders": 3,
        "new_days": 14.0,
    }
    assert service.rebuild(user=camper).segment == "big_spender"
    settings.RECOMMENDATIONS_PORTRAIT_SEGMENTS = {
        **settings.RECOMMENDATIONS_PORTRAIT_SEGMENTS,
        "at_risk_days": 0.01,
    }
    assert service.rebuild(user=camper).segment == "at_risk"


def test_debounced_rebuild_enqueues_once_per_subject_window(camper, monkeypatch, settings):
    settings.RECOMMENDATIONS_PORTRAIT_DEBOUNCE_SECONDS = 30
    sent = []
    monkeypatch.setattr(taskqueue, "eager", lambda: False)
    # portraits send the task by name (they never import the task module): the registered task's
    # apply_async receives the call
    monkeypatch.setattr(
        tasks.rebuild_portrait,
        "apply_async",
        lambda args=None, kwargs=None, countdown=None, **options: sent.append((tuple(args), countdown)),
    )
    subject = f"u:{camper.pk}"
    for _ in range(3):
        service.schedule([subject])
    assert sent == [((subject,), 30)]
    # the task runs (as the worker would after the countdown) and clears the flag
    assert tasks.rebuild_portrait(subject) is True
    assert Portrait.objects.filter(user=camper).exists()
    service.schedule([subject, "v:00000000-0000-0000-0000-000000000001"])
    assert len(sent) == 3


def test_eager_mode_rebuilds_on_read_after_new_events(camper, shop):
    first = get_portrait(camper)
    assert first.n_events == 7
    rows = [EventIn(kind="view", product_id=str(shop.b[1].pk), user_id=camper.pk, created_at=timezone.now())]
    import_events(rows)
    assert get_portrait(camper).n_events == 7  # not scheduled: the stored row is served
    from recommendations.schema import subject_key

    assert service.schedule([subject_key(camper.pk, None)]) == 0  # eager: marked stale
    assert get_portrait(camper).n_events == 8


def test_schedule_for_rows_uses_the_rows_subjects(monkeypatch):
    seen = []
    monkeypatch.setattr(scheduling, "schedule", lambda subjects: seen.append(set(subjects)) or 0)

    class Row:
        def __init__(self, subject):
            self._subject = subject

        @property
        def subject(self):
            return self._subject

    scheduling.schedule_for_rows([Row("u:1"), Row("u:1"), Row("v:x")])
    assert seen == [{"u:1", "v:x"}]


def test_bulk_rebuild_covers_users_and_active_visitors_and_drops_stale(camper, shop, settings):
    now = timezone.now()
    active = anonymous_views(shop, shop.b[:3], now - timedelta(days=1))
    old = anonymous_views(shop, shop.b[3:5], now - timedelta(days=90))
    Portrait.objects.create(visitor_id=old, segment="new")
    result = service.rebuild_all()
    assert result["built"] == 2
    assert result["dropped"] == 1
    assert set(Portrait.objects.values_list("visitor_id", flat=True)) == {None, active}
    visitor = get_portrait(visitor_id=active)
    assert visitor.categories[0]["label"] == "Kitchen"
    assert visitor.frequency == 0


def test_rescore_places_shoppers_in_population_quintiles(shop, django_user_model):
    # ten buyers spending 10, 20, ..., 100: the top spender scores M=5, the lowest M=1
    users = []
    for n in range(1, 11):
        user = django_user_model.objects.create_user(f"buyer{n}")
        users.append(user)
        import_events(
            [
                EventIn(
                    kind="purchase",
                    product_id=str(shop.a[0].pk),
                    user_id=user.pk,
                    order_id=f"o{n}",
                    unit_price=Decimal(10 * n),
                    created_at=timezone.now() - timedelta(days=n),
                )
            ]
        )
    service.rebuild_all()
    scores = {p.user_id: (p.r_score, p.m_score) for p in Portrait.objects.all()}
    assert scores[users[-1].pk] == (1, 5)
    assert scores[users[0].pk] == (5, 1)


def test_export_and_erase_for_the_privacy_service(camper, shop):
    visitor = anonymous_views(shop, shop.a[:2], timezone.now())
    service.rebuild(user=camper)
    service.rebuild(visitor_id=visitor)
    exported = service.portrait_export(camper)
    assert exported["user"] == camper.pk
    assert exported["lifetime_value"] == "151.00"
    import json

    json.dumps(exported)  # JSON-ready
    assert service.erase_portraits(user=camper, visitor_ids=[visitor]) == 2
    assert not Portrait.objects.exists()
    assert service.portrait_export(camper) is None


@pytest.mark.parametrize("bad", ["x:1", "nope"])
def test_bad_subject_keys_are_refused(bad):
    with pytest.raises(ValueError):
        service.rebuild_subject(bad)


def test_storing_events_schedules_their_subjects_after_commit(
    camper, shop, django_capture_on_commit_callbacks
):
    assert get_portrait(camper).n_events == 7
    with django_capture_on_commit_callbacks(execute=True):
        import_events([EventIn(kind="view", product_id=str(shop.b[2].pk), user_id=camper.pk)])
    assert service.is_stale(f"u:{camper.pk}")
    assert get_portrait(camper).n_events == 8
