"""Experiments: deterministic, balanced, login-stable assignment; results from events; the slot hook."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from recommendations.engine.stats import chi_square_balance
from recommendations.experiments import assignment, registry
from recommendations.experiments.report import experiment_report
from recommendations.models import Experiment, Variant
from recommendations.subjects import Subject


def test_bucketing_is_deterministic_and_salted():
    ids = [f"v:{uuid.UUID(int=n)}" for n in range(500)]
    first = [assignment.bucket(i, "salt-a", [1, 1]) for i in ids]
    assert first == [assignment.bucket(i, "salt-a", [1, 1]) for i in ids]
    other_salt = [assignment.bucket(i, "salt-b", [1, 1]) for i in ids]
    assert 0.35 < np.mean(np.array(first) != np.array(other_salt)) < 0.65  # a new salt reshuffles


@pytest.mark.parametrize("weights", [[1, 1], [1, 2, 1], [9, 1]])
def test_bucketing_is_balanced_on_10k_ids(weights):
    ids = [f"v:{uuid.UUID(int=n * 7919 + 13)}" for n in range(10_000)]
    counts = np.bincount([assignment.bucket(i, "exp-salt", weights) for i in ids], minlength=len(weights))
    assert chi_square_balance(counts, np.array(weights)) > 0.001
    assert np.allclose(counts / counts.sum(), np.array(weights) / sum(weights), atol=0.02)


@pytest.mark.django_db
def test_assignment_is_stable_from_anonymous_to_logged_in():
    from recommendations.tracking.merge import merge_visitor

    experiment = Experiment.objects.create(name="e", slot="for_you", status="running")
    for n in range(4):
        Variant.objects.create(experiment=experiment, name=f"v{n}", recipe="for_you")
    user = get_user_model().objects.create_user("shopper")
    first_device, second_device = uuid.uuid4(), uuid.uuid4()
    anonymous = registry.variant_for("for_you", Subject(None, first_device))
    merge_visitor(first_device, user)  # login
    logged_in = registry.variant_for("for_you", Subject(str(user.pk), first_device))
    assert logged_in == anonymous
    assert assignment.identity_of(Subject(str(user.pk), first_device)) == f"v:{first_device}"
    merge_visitor(second_device, user)  # the same user on another device: still the first visitor id
    assert registry.variant_for("for_you", Subject(str(user.pk), second_device)) == anonymous
    nobody_linked = get_user_model().objects.create_user("api-only")
    assert assignment.identity_of(Subject(str(nobody_linked.pk), None)) == f"u:{nobody_linked.pk}"
    assert assignment.identities_of_users([str(user.pk), str(nobody_linked.pk)]) == {
        str(user.pk): f"v:{first_device}",
        str(nobody_linked.pk): f"u:{nobody_linked.pk}",
    }


@pytest.mark.django_db
def test_slot_items_serves_the_variant_recipe(monkeypatch, settings):
    import recommendations.serving.page as page
    import recommendations.serving.render as selectors

    settings.RECOMMENDATIONS_SLOTS = {"trending_b": {"sources": {"trending": 1.0}}}
    seen = []

    def recommend_slots(visitor, requests):
        seen.extend(request.slot for request in requests)
        return [[] for _ in requests]

    monkeypatch.setattr(page, "recommend_slots", recommend_slots)
    visitor = Subject(None, uuid.uuid4())
    selectors.slot_items(None, "trending", visitor=visitor)
    experiment = Experiment.objects.create(name="e", slot="trending", status="running")
    Variant.objects.create(experiment=experiment, name="a", recipe="trending")
    Variant.objects.create(experiment=experiment, name="b", recipe="trending_b")
    selectors.slot_items(None, "trending", visitor=visitor)
    expected = ["trending", "trending_b"][
        assignment.bucket(f"v:{visitor.visitor_id}", experiment.salt, [1, 1])
    ]
    assert seen == ["trending", expected]
    experiment.status = "stopped"
    experiment.save()
    selectors.slot_items(None, "trending", visitor=visitor)
    assert seen[-1] == "trending"


@pytest.mark.django_db
def test_ad_slot_experiment_sets_the_ranking_policy(make_campaign, browser_request):
    from recommendations.ads.serving import serve_ads

    make_campaign(name="high bid", bid_amount=Decimal("1.00"))
    experiment = Experiment.objects.create(name="policy", slot="ads:home", status="running")
    Variant.objects.create(experiment=experiment, name="ev", ranking_policy="expected_value", weight=1)
    Variant.objects.create(experiment=experiment, name="ctr", ranking_policy="ctr", weight=1)
    policies = {serve_ads(browser_request(), "home")[0].policy for _ in range(40)}
    assert policies == {"expected_value", "ctr"}  # 40 fresh visitors land in both arms


@pytest.mark.django_db
def test_report_counts_from_events_match_hand_computation(items, settings):
    settings.RECOMMENDATIONS_EXPERIMENTS_MIN_SAMPLE = 10  # 40 visitors in two arms
    from recommendations.schema import EventIn
    from recommendations.tracking.bulk import import_events

    start = timezone.now() - timedelta(days=1)
    experiment = Experiment.objects.create(name="e", slot="for_you", status="running", started_at=start)
    Variant.objects.create(experiment=experiment, name="control", recipe="for_you")
    Variant.objects.create(experiment=experiment, name="treatment", recipe="trending")
    visitors = [uuid.UUID(int=n + 1) for n in range(40)]
    expected = {0: [0, 0, 0, 0, 0.0], 1: [0, 0, 0, 0, 0.0]}  # visitors, impressions, clicks, conv, revenue
    events, clock = [], start
    for n, visitor in enumerate(visitors):
        arm = assignment.bucket(f"v:{visitor}", experiment.salt, [1, 1])
        clock += timedelta(minutes=1)
        product = str(items[n % 5].pk)
        # a purchase before exposure does not count
        events.append(
            EventIn(
                kind="purchase",
                product_id=product,
                visitor_id=visitor,
                created_at=clock,
                order_id=f"pre{n}",
                unit_price=Decimal("99"),
                quantity=1,
            )
        )
        shown = 1 + n % 3
        for _ in range(shown):
            clock += timedelta(seconds=1)
            events.append(
                EventIn(
                    kind="impression",
                    product_id=product,
                    visitor_id=visitor,
                    slot="for_you",
                    created_at=clock,
                )
            )
        expected[arm][0] += 1
        expected[arm][1] += shown
        if n % 2 == 0:
            events.append(
                EventIn(
                    kind="click",
                    product_id=product,
                    visitor_id=visitor,
                    slot="for_you",
                    created_at=clock + timedelta(seconds=1),
                )
            )
            expected[arm][2] += 1
        if n % 4 == 0:
            events.append(
                EventIn(
                    kind="purchase",
                    product_id=product,
                    visitor_id=visitor,
                    order_id=f"o{n}",
                    created_at=clock + timedelta(seconds=2),
                    unit_price=Decimal("10.00"),
                    quantity=2,
                )
            )
            expected[arm][3] += 1
            expected[arm][4] += 20.0
    import_events(events)
    report = experiment_report(experiment)
    for arm, result in enumerate(report.variants):
        visitors_n, impressions, clicks, conversions, revenue = expected[arm]
        assert (result.visitors, result.impressions, result.clicks, result.conversions) == (
            visitors_n,
            impressions,
            clicks,
            conversions,
        )
        assert result.revenue == pytest.approx(revenue)
        assert result.ctr == pytest.approx(clicks / impressions)
        assert result.revenue_per_visitor == pytest.approx(revenue / visitors_n)
    treatment = report.variants[1]
    assert treatment.ctr_test is not None and 0 <= treatment.ctr_test.p_value <= 1
    assert treatment.ctr_test.diff == pytest.approx(treatment.ctr - report.variants[0].ctr)
    assert "peek" in report.note.lower() or "repeatedly" in report.note


@pytest.mark.django_db
def test_admin_pages_show_results_and_performance(admin_client, make_campaign):
    campaign = make_campaign()
    experiment = Experiment.objects.create(name="e", slot="ads:home", status="running")
    Variant.objects.create(experiment=experiment, name="a", ranking_policy="expected_value")
    Variant.objects.create(experiment=experiment, name="b", ranking_policy="bid")
    page = admin_client.get(f"/admin/recommendations/experiment/{experiment.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Do not peek" in html and "control" in html
    assert admin_client.get("/admin/recommendations/campaign/").status_code == 200
    page = admin_client.get(f"/admin/recommendations/campaign/{campaign.pk}/change/")
    assert page.status_code == 200 and "Predicted CTR" in page.content.decode()


def _exposures(experiment, items, n_visitors, *, buy_every=3, start=None):
    """Impressions for ``n_visitors`` anonymous visitors in the experiment's slot; every visitor
    clicks once, every ``buy_every``-th buys for 25.00 after the click."""
    from recommendations.schema import EventIn
    from recommendations.tracking.bulk import import_events

    clock = start or timezone.now() - timedelta(hours=12)
    events = []
    for n in range(n_visitors):
        visitor = uuid.UUID(int=10_000 + n)
        product = str(items[n % len(items)].pk)
        for _ in range(2 + n % 3):
            clock += timedelta(seconds=1)
            events.append(
                EventIn(
                    kind="impression",
                    product_id=product,
                    visitor_id=visitor,
                    slot=experiment.slot,
                    created_at=clock,
                )
            )
        events.append(
            EventIn(
                kind="click", product_id=product, visitor_id=visitor, slot=experiment.slot, created_at=clock
            )
        )
        if n % buy_every == 0:
            events.append(
                EventIn(
                    kind="purchase",
                    product_id=product,
                    visitor_id=visitor,
                    order_id=f"x{n}",
                    created_at=clock + timedelta(seconds=1),
                    unit_price=Decimal("25.00"),
                    quantity=1,
                )
            )
    import_events(events)


def _two_arm_experiment(slot="for_you"):
    experiment = Experiment.objects.create(
        name="two arms", slot=slot, status="running", started_at=timezone.now() - timedelta(days=1)
    )
    Variant.objects.create(experiment=experiment, name="control", recipe="for_you")
    Variant.objects.create(experiment=experiment, name="treatment", recipe="trending")
    return experiment


@pytest.mark.django_db
def test_results_say_not_enough_data_below_the_minimum_sample(items, admin_client):
    """One visitor per variant used to read "1.0000 [1.0000, 1.0000], p=0.1573" and "[nan, nan]"."""
    experiment = _two_arm_experiment()
    arms = {}
    n = 0
    while len(arms) < 2:  # one exposed visitor in each arm
        arms.setdefault(assignment.bucket(f"v:{uuid.UUID(int=10_000 + n)}", experiment.salt, [1, 1]), n)
        n += 1
    _exposures(experiment, items, n, buy_every=1)
    report = experiment_report(experiment)
    assert all(v.visitors >= 1 for v in report.variants)
    treatment = report.variants[1]
    assert treatment.ctr_test is None and treatment.conversion_test is None and treatment.revenue_test is None
    assert treatment.ctr_note.startswith("not enough data")
    assert treatment.conversion_note == f"not enough data: {treatment.visitors} of 100 visitors"
    html = admin_client.get(f"/admin/recommendations/experiment/{experiment.pk}/change/").content.decode()
    assert html.count("not enough data") == 6  # CTR, conversion and revenue of both variants
    assert "nan" not in html.lower().replace("nano", "")
    assert "1.0000 [1.0000, 1.0000]" not in html and "p = " not in html


@pytest.mark.django_db
def test_results_show_intervals_and_tests_at_the_minimum_sample(items, admin_client, settings):
    settings.RECOMMENDATIONS_EXPERIMENTS_MIN_SAMPLE = 20
    experiment = _two_arm_experiment()
    _exposures(experiment, items, 120)
    report = experiment_report(experiment)
    assert all(v.visitors >= 20 for v in report.variants)
    treatment = report.variants[1]
    assert treatment.ctr_test is not None and treatment.conversion_test is not None
    assert treatment.revenue_test is not None and 0 <= treatment.revenue_test.p_value <= 1
    assert not (treatment.ctr_note or treatment.conversion_note or treatment.revenue_note)
    html = admin_client.get(f"/admin/recommendations/experiment/{experiment.pk}/change/").content.decode()
    assert "not enough data" not in html
    assert html.count("95% CI") == 4 and html.count("vs control") == 3
