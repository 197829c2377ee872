"""Issue 10 item 7: a shared browser. User A logs in and shops; user B logs in on the same
browser without A logging out. B starts from a fresh visitor: B's export holds none of A's events
and B's erasure deletes none of them."""

from __future__ import annotations

import uuid

import pytest

from recommendations.models import Event, VisitorLink
from recommendations.privacy import service as privacy
from recommendations.schema import EventIn
from recommendations.tracking.bulk import import_events
from recommendations.tracking.merge import merge_visitor
from recommendations.tracking.visitors import get_visitor

API = "/api/recommendations"


@pytest.fixture
def ann_and_bob(django_user_model):
    return (
        django_user_model.objects.create_user("ann", password="pw"),
        django_user_model.objects.create_user("bob", password="pw"),
    )


def _log_in(client, username, browser_ua):
    response = client.post("/login/", {"username": username, "password": "pw"}, **browser_ua)
    assert response.status_code == 200
    return get_visitor(response.wsgi_request)


def _post(client, items, browser_ua):
    events = [{"kind": "view", "product": str(item.pk)} for item in items]
    response = client.post(f"{API}/events/", events, content_type="application/json", **browser_ua)
    assert response.status_code == 202, response.content
    return response


def test_a_second_login_on_the_same_browser_starts_a_fresh_visitor(client, items, ann_and_bob, browser_ua):
    ann, _ = ann_and_bob
    client.get(f"/items/{items[0].pk}/", **browser_ua)  # anonymous, before anyone logs in
    ann_visitor = _log_in(client, "ann", browser_ua).visitor_id
    _post(client, items + items[:1], browser_ua)  # ann's 6 events
    ann_events = Event.objects.filter(user=ann).count()
    assert ann_events == 7

    bob_visitor = _log_in(client, "bob", browser_ua)  # no logout in between
    assert bob_visitor.visitor_id != ann_visitor
    assert client.cookies["rec_vid"].value  # the browser was handed the fresh visitor
    exported = client.get(f"{API}/me/data/", **browser_ua).json()
    assert exported["events"] == []
    assert exported["visitor_ids"] == [str(bob_visitor.visitor_id)]

    _post(client, items[2:3], browser_ua)
    exported = client.get(f"{API}/me/data/", **browser_ua).json()
    assert [e["product_id"] for e in exported["events"]] == [str(items[2].pk)]
    assert {e["visitor_id"] for e in exported["events"]} == {str(bob_visitor.visitor_id)}

    erased = client.delete(f"{API}/me/data/", **browser_ua).json()["erased"]
    assert erased["events"] == 1
    assert Event.objects.filter(user=ann).count() == ann_events
    assert VisitorLink.objects.get(visitor_id=ann_visitor).user == ann
    assert len(privacy.export_user_data(ann)["events"]) == ann_events


def test_a_link_never_moves_to_another_user(items, ann_and_bob):
    """Even called directly, merging a visitor already linked to ann into bob changes nothing."""
    ann, bob = ann_and_bob

    visitor = uuid.uuid4()
    import_events([EventIn(kind="view", product_id=str(items[0].pk), visitor_id=visitor)])
    assert merge_visitor(visitor, ann) == 1
    assert merge_visitor(visitor, bob) == 0
    assert VisitorLink.objects.get(visitor_id=visitor).user == ann
    assert privacy.export_user_data(bob)["events"] == []


def test_an_anonymous_visitor_never_sees_a_users_events(client, items, ann_and_bob, browser_ua):
    """Ann's session ends without a logout (it expired): the browser keeps its visitor cookie.
    Whoever uses it anonymously next can neither export nor erase what ann did while logged in."""
    ann, _ = ann_and_bob
    _log_in(client, "ann", browser_ua)
    _post(client, items[:3], browser_ua)
    client.session.flush()  # the session is gone, the visitor cookie stays
    client.cookies.pop("sessionid", None)

    exported = client.get(f"{API}/me/data/", **browser_ua).json()
    assert exported["user"] is None and exported["events"] == []
    erased = client.delete(f"{API}/me/data/", **browser_ua).json()["erased"]
    assert erased["events"] == 0 and erased["visitor_links"] == 0
    assert Event.objects.filter(user=ann).count() == 3
    assert VisitorLink.objects.filter(user=ann).exists()
