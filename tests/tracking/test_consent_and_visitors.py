"""Opt-out, Do-Not-Track / GPC, and anonymous -> user merge on login, fresh visitor on logout."""

import pytest
from django.contrib.auth import get_user_model

from recommendations import signals
from recommendations.live import visitor_state
from recommendations.models import Event, TrackingPreference, VisitorLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("ann", password="pw")


def test_opt_out_cookie_stops_all_recording(client, item, browser_ua):
    response = client.post(
        "/api/recommendations/consent/", {"opt_out": True}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.cookies["rec_optout"].value == "1"
    client.get(f"/items/{item.pk}/", **browser_ua)
    client.get("/search/", {"q": "tent"}, **browser_ua)
    api = client.post(
        "/api/recommendations/events/",
        {"kind": "view", "product": str(item.pk)},
        content_type="application/json",
    )
    assert api.status_code == 202
    assert api.json() == {"accepted": 0, "duplicates": 0, "skipped": "opted_out"}
    assert not Event.objects.exists()


def test_opting_back_in_records_again(client, item, browser_ua):
    client.post("/api/recommendations/consent/", {"opt_out": True}, content_type="application/json")
    client.post("/api/recommendations/consent/", {"opt_out": False}, content_type="application/json")
    client.get(f"/items/{item.pk}/", **browser_ua)
    assert Event.objects.count() == 1


def test_logged_in_opt_out_is_remembered_across_browsers(client, user, item, browser_ua):
    client.force_login(user)
    client.post("/api/recommendations/consent/", {"opt_out": True}, content_type="application/json")
    assert TrackingPreference.objects.get(user=user).opted_out
    client.cookies.clear()
    client.force_login(user)
    client.get(f"/items/{item.pk}/", **browser_ua)
    assert not Event.objects.exists()


def test_consent_rejects_non_boolean(client):
    response = client.post(
        "/api/recommendations/consent/", {"opt_out": "yes"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "opt_out"


def test_global_privacy_control_is_honoured(client, item, browser_ua):
    client.get(f"/items/{item.pk}/", HTTP_SEC_GPC="1", **browser_ua)
    assert not Event.objects.exists()


def test_do_not_track_only_when_configured(client, item, browser_ua, settings):
    client.get(f"/items/{item.pk}/", HTTP_DNT="1", **browser_ua)
    assert Event.objects.count() == 1
    settings.RECOMMENDATIONS_HONOUR_DNT = True
    client.get(f"/items/{item.pk}/", HTTP_DNT="1", **browser_ua)
    assert Event.objects.count() == 1


def test_login_merges_anonymous_history_into_user(client, user, items, browser_ua):
    received = []

    def on_merge(**kwargs):
        received.append(kwargs)

    signals.visitor_merged.connect(on_merge, dispatch_uid="test-merge")
    try:
        for product in items[:2]:
            client.get(f"/items/{product.pk}/", **browser_ua)
        visitor_id = Event.objects.first().visitor_id
        client.post("/login/", {"username": "ann", "password": "pw"}, **browser_ua)
    finally:
        signals.visitor_merged.disconnect(dispatch_uid="test-merge")
    assert Event.objects.filter(user=user).count() == 2
    assert VisitorLink.objects.get(visitor_id=visitor_id).user == user
    assert received[0]["events_merged"] == 2 and received[0]["user"] == user
    state = visitor_state(user=user)
    assert [i.product_id for i in state.recent_items] == [str(items[1].pk), str(items[0].pk)]


def test_late_anonymous_event_lands_on_the_user(client, user, item, browser_ua):
    from recommendations.schema import EventIn
    from recommendations.tracking.bulk import import_events

    client.get(f"/items/{item.pk}/", **browser_ua)
    visitor_id = Event.objects.get().visitor_id
    client.post("/login/", {"username": "ann", "password": "pw"}, **browser_ua)
    import_events([EventIn(kind="click", product_id=str(item.pk), slot="home", visitor_id=visitor_id)])
    assert Event.objects.get(kind="click").user == user


def test_events_after_login_belong_to_the_user_and_keep_visitor(client, user, item, browser_ua):
    client.get(f"/items/{item.pk}/", **browser_ua)
    client.force_login(user)
    client.get(f"/items/{item.pk}/", **browser_ua)
    first, second = Event.objects.order_by("id")
    assert second.user_id == user.pk
    assert first.visitor_id == second.visitor_id


def test_logout_starts_a_fresh_visitor(client, user, item, browser_ua):
    client.get(f"/items/{item.pk}/", **browser_ua)
    client.post("/login/", {"username": "ann", "password": "pw"}, **browser_ua)
    response = client.post("/logout/", **browser_ua)
    assert "rec_vid" in response.cookies
    client.get(f"/items/{item.pk}/", **browser_ua)
    first, second = Event.objects.order_by("id")
    assert second.user_id is None
    assert second.visitor_id != first.visitor_id
