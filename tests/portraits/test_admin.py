"""Admin: portrait list and page, why inspector, actions, and who may see them."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from recommendations import portraits as service
from recommendations.models import Event, Portrait
from recommendations.serving.slots import recipes
from recommendations.training import pipeline as training
from tests.portraits.conftest import grant


@pytest.fixture
def portrait(camper):
    return service.rebuild(user=camper)


def _change_url(portrait):
    return reverse("admin:recommendations_portrait_change", args=[portrait.pk])


def test_permitted_staff_sees_list_page_and_charts(client, analyst, portrait):
    client.force_login(analyst)
    listing = client.get(reverse("admin:recommendations_portrait_changelist"), {"segment__exact": "new"})
    assert listing.status_code == 200
    assert "camper" in listing.content.decode()
    page = client.get(_change_url(portrait))
    assert page.status_code == 200
    html = page.content.decode()
    for chart in ("chart-categories", "chart-activity", "chart-rfm"):
        assert f'id="{chart}"' in html
    # one bar per category affinity, and the RFM marker for a shopper who bought
    bars = re.search(r'<svg id="chart-categories".*?</svg>', html, re.S).group(0)
    assert bars.count('class="bar"') == len(portrait.categories)
    assert 'class="marker"' in html


def test_list_filters_and_search(client, analyst, portrait, shop):
    from django.utils import timezone

    from tests.portraits.conftest import anonymous_views

    visitor = anonymous_views(shop, shop.b[:2], timezone.now())
    service.rebuild(visitor_id=visitor)
    client.force_login(analyst)
    url = reverse("admin:recommendations_portrait_changelist")

    def shown(**params):
        return client.get(url, params).context["cl"].result_count

    assert shown() == 2
    assert shown(who="visitor") == 1
    assert shown(who="user") == 1
    assert shown(q="camper") == 1
    assert shown(q=str(visitor)) == 1
    assert shown(active="1") == 2
    assert shown(active="idle") == 0
    assert shown(segment__exact="churned") == 0


@pytest.mark.parametrize("name", ["changelist", "change", "rebuild", "export", "erase"])
def test_staff_without_the_permission_is_refused(client, plain_staff, portrait, name):
    client.force_login(plain_staff)
    args = [] if name == "changelist" else [portrait.pk]
    url = reverse(f"admin:recommendations_portrait_{name}", args=args)
    assert client.get(url).status_code == 403
    response = client.post(url, {"confirm": "yes"})
    assert response.status_code == 403
    assert Event.objects.filter(user=portrait.user).count() == 7
    assert "chart-categories" not in response.content.decode()


def test_other_recommendation_permissions_do_not_open_portraits(client, plain_staff, portrait):
    grant(plain_staff, "view_event")
    client.force_login(plain_staff)
    assert client.get(_change_url(portrait)).status_code == 403
    assert client.get(reverse("admin:recommendations_portrait_export", args=[portrait.pk])).status_code == 403


def test_view_permission_alone_cannot_erase(client, plain_staff, portrait):
    grant(plain_staff, "view_portrait")
    client.force_login(plain_staff)
    assert client.get(_change_url(portrait)).status_code == 200
    assert client.post(reverse("admin:recommendations_portrait_erase", args=[portrait.pk])).status_code == 403
    assert Event.objects.filter(user=portrait.user).exists()


def test_anonymous_users_are_sent_to_login(client, portrait):
    response = client.get(_change_url(portrait))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_why_inspector_lists_each_slot_with_score_source_and_reason(client, analyst, camper, shop):
    shop.history()
    training.rebuild()
    portrait = service.rebuild(user=camper)
    client.force_login(analyst)
    response = client.get(_change_url(portrait))
    why = {entry.slot: entry for entry in response.context["why"]}
    assert set(why) == set(recipes())
    for_you = why["for_you"]
    assert not for_you.error
    assert for_you.items
    # camper's history is camping: the first "for you" items are explained by it
    assert for_you.items[0].title.startswith("Tent")
    html = response.content.decode()
    for entry in why.values():
        assert f'data-slot="{entry.slot}"' in html
        for item in entry.items:
            assert item.reason
            assert item.source
            assert f"{item.score:.3f}" in html
    explained = [i for i in for_you.items if i.reason_code in {"viewed", "session"}]
    assert explained
    assert all(i.evidence for i in explained)
    assert explained[0].reason in html


def test_rebuild_now_button_recomputes(client, analyst, portrait):
    Portrait.objects.filter(pk=portrait.pk).update(n_events=0, segment="churned")
    client.force_login(analyst)
    response = client.post(reverse("admin:recommendations_portrait_rebuild", args=[portrait.pk]))
    assert response.status_code == 302
    portrait.refresh_from_db()
    assert portrait.n_events == 7
    assert portrait.segment == "new"


def test_export_json_downloads_everything_about_the_shopper(client, analyst, portrait):
    client.force_login(analyst)
    response = client.get(reverse("admin:recommendations_portrait_export", args=[portrait.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert len(data["events"]) == 7
    assert data["portrait"]["lifetime_value"] == "151.00"


def test_export_action_for_several_shoppers(client, analyst, portrait):
    client.force_login(analyst)
    response = client.post(
        reverse("admin:recommendations_portrait_changelist"),
        {"action": "export_selected", "_selected_action": [portrait.pk]},
    )
    data = json.loads(response.content)
    assert list(data) == [portrait.subject]


def test_erase_asks_for_confirmation_then_removes_everything(client, analyst, portrait):
    client.force_login(analyst)
    url = reverse("admin:recommendations_portrait_erase", args=[portrait.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Yes, erase" in confirm.content.decode()
    assert Event.objects.filter(user=portrait.user).exists()
    response = client.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    assert not Event.objects.filter(user=portrait.user).exists()
    assert not Portrait.objects.exists()


def test_erase_action_confirms_before_erasing(client, analyst, portrait):
    client.force_login(analyst)
    url = reverse("admin:recommendations_portrait_changelist")
    payload = {"action": "erase_selected", "_selected_action": [portrait.pk]}
    first = client.post(url, payload)
    assert first.status_code == 200
    assert Portrait.objects.exists()
    client.post(url, {**payload, "confirm": "yes"})
    assert not Portrait.objects.exists()
    assert not Event.objects.filter(user=portrait.user).exists()


def test_rebuild_action(client, analyst, portrait):
    Portrait.objects.filter(pk=portrait.pk).update(n_events=1)
    client.force_login(analyst)
    client.post(
        reverse("admin:recommendations_portrait_changelist"),
        {"action": "rebuild_selected", "_selected_action": [portrait.pk]},
    )
    portrait.refresh_from_db()
    assert portrait.n_events == 7
