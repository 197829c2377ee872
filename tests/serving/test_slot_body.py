"""The personal slot endpoints' ready-made bodies: a plain request is answered from the cached
body (no DRF rendering, no query), with the same bytes and headers as the full DRF path except
for the per-request tokens; anything else takes the full path."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from recommendations import attribution
from recommendations.api import slotbody
from recommendations.api.slots import item_dicts
from recommendations.serving import page
from recommendations.serving.page import Row, SlotSpec
from recommendations.serving.render import items_of
from recommendations.training import pipeline as training

API = "/api/recommendations"


@pytest.fixture
def trained(shop):
    shop.history()
    training.rebuild()
    return shop


@pytest.fixture
def browsed(trained, client, browser_ua):
    for item in trained.b[:3]:
        assert client.get(f"/items/{item.pk}/", **browser_ua).status_code == 200
    return trained


@pytest.fixture
def computed(monkeypatch):
    calls = []
    real = page.recommend_slots
    monkeypatch.setattr(page, "recommend_slots", lambda *a: calls.append(a) or real(*a))
    return calls


def _without_tokens(body: bytes) -> dict:
    data = json.loads(body)
    for item in data["results"]:
        token = item.pop("token")
        url = item.pop("url")
        assert attribution.unsign(token).product_id == item["product_id"]
        assert url.endswith("rt=" + token.replace(":", "%3A"))
        item["url_base"] = url[: -len(token.replace(":", "%3A"))]
    return data


def test_a_plain_request_is_answered_from_the_cached_body_like_the_full_path(browsed, client, computed):
    fast = client.get(f"{API}/for-you/", {"limit": 5})
    full = client.get(f"{API}/for-you/", {"limit": 5, "format": "json"})  # DRF negotiation: the full path
    assert fast.status_code == full.status_code == 200
    assert not hasattr(fast, "renderer_context") and hasattr(full, "renderer_context")
    assert _without_tokens(fast.content) == _without_tokens(full.content)
    for header in ("Content-Type", "Cache-Control", "Vary", "Allow"):
        assert fast[header] == full[header], header
    tokens = [attribution.unsign(item["token"]) for item in json.loads(fast.content)["results"]]
    assert [(t.slot, t.position) for t in tokens] == [("for_you", n) for n in range(len(tokens))]
    assert len({t.request_id for t in tokens}) == 1
    assert len(computed) == 2  # one entry per kind (the ready-made body, the rows)


def test_a_hit_costs_no_query_and_no_computation(
    browsed, client, computed, django_assert_num_queries, settings
):
    settings.RECOMMENDATIONS_MODEL_CHECK_SECONDS = 3600  # no version re-check inside the count
    first = client.get(f"{API}/for-you/")
    with django_assert_num_queries(0):
        second = client.get(f"{API}/for-you/")
    assert len(computed) == 1
    assert [r["product_id"] for r in second.json()["results"]] == [
        r["product_id"] for r in first.json()["results"]
    ]
    assert second.json()["results"][0]["token"] != first.json()["results"][0]["token"]


def test_a_new_click_changes_the_next_answer(browsed, client, browser_ua):
    shop = browsed
    before = {r["product_id"] for r in client.get(f"{API}/for-you/", {"limit": 4}).json()["results"]}
    assert before <= shop.ids(shop.b)
    for item in shop.a[:4]:
        client.get(f"/items/{item.pk}/", **browser_ua)
    after = {r["product_id"] for r in client.get(f"{API}/for-you/", {"limit": 4}).json()["results"]}
    assert after & shop.ids(shop.a)


def test_recently_viewed_takes_the_fast_path_too(browsed, client):
    results = client.get(f"{API}/recently-viewed/").json()["results"]
    assert [r["product_id"] for r in results][:3] == [str(i.pk) for i in reversed(browsed.b[:3])]


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_ACCEPT": "text/html"},  # the browsable API
        {"HTTP_AUTHORIZATION": "Basic bm9ib2R5Om5vcGU="},  # DRF authenticates (and refuses) it
        {"QUERY_STRING": "limit=x"},  # DRF's validation error
        {"QUERY_STRING": "slot=nope"},  # an unknown recipe: 400
    ],
)
def test_other_requests_take_the_full_path(browsed, client, computed, extra):
    response = client.get(f"{API}/for-you/", **extra)
    assert hasattr(response, "renderer_context") or response.status_code >= 400
    if "HTTP_ACCEPT" in extra:
        assert response["Content-Type"].startswith("text/html")
    if "HTTP_AUTHORIZATION" in extra:
        assert response.status_code in (401, 403)
    if "QUERY_STRING" in extra:
        assert response.status_code == 400


def test_an_opted_out_visitor_gets_the_non_personal_full_path(browsed, client):
    client.cookies["rec_optout"] = "1"
    response = client.get(f"{API}/for-you/")
    assert response.status_code == 200
    assert hasattr(response, "renderer_context")


# "s~rc": a source that takes the older token format (the whole slot is signed token by token);
# "src": the token frames written with the body, the awkward product id escaped per request
@pytest.mark.parametrize("source", ["s~rc", "src"])
def test_fill_escapes_awkward_tokens_as_the_serializer_would(monkeypatch, source):
    monkeypatch.setattr(attribution.time, "time", lambda: 1_800_000_000.0)
    rows = [
        Row(
            'p"1&<x>', "Tent “Alpine”\u2028", "/items/1/?a=b", None, Decimal("5"), 0.5, "r", "viewed", source
        ),
        Row("p2", "Pan", "", "/img.png", None, 1.0, "r2", "trending", "trending"),
        Row("p3", "Stove", "/items/3/", None, Decimal("12.345"), 0.25, "r3", "session", "session"),
    ]
    spec = SlotSpec("for_you", {}, 3)
    body = slotbody.fill(slotbody.template([spec], [rows]), "for_you", "req1")
    expected = {"slot": "for_you", "results": item_dicts(items_of("for_you", rows, "req1"))}
    assert json.loads(body) == expected
    assert b"\\u2028" in body and "“".encode() in body  # DRF's escaping of the line separator
    assert (
        slotbody.fill(slotbody.template([spec], [rows]), "for_you", "req~2")
        == json.dumps(
            {"slot": "for_you", "results": item_dicts(items_of("for_you", rows, "req~2"))},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        .replace("\u2028", "\\u2028")
        .encode()
    )  # a request id that takes the older format


def test_sign_all_gives_the_tokens_sign_gives(monkeypatch):
    monkeypatch.setattr(attribution.time, "time", lambda: 1_800_000_000.0)
    tokens = [attribution.Token("for_you", "itemknn", n, f"p{n}", "abc") for n in range(40)]
    tokens.append(attribution.Token("for_you", "itemknn", 3, str(uuid.uuid4()), "abc"))
    signed = attribution.sign_all(tokens)
    assert signed == [attribution.sign(t) for t in tokens]
    signatures = "".join(token.rsplit(":", 1)[1] for token in signed)
    assert "-" in signatures and "_" in signatures  # the URL-safe base64 letters are covered
    odd = [attribution.Token("my~slot", "x", 0, "p", "abc")]  # the older format, as sign() chooses
    assert attribution.unsign(attribution.sign_all(odd)[0]) == odd[0]


def test_the_refresh_task_renders_the_ready_made_body_too(browsed, client, browser_ua, computed):
    from recommendations.serving import refresh

    shop = browsed
    client.get(f"{API}/for-you/", {"limit": 4})
    client.get(f"/items/{shop.a[0].pk}/", **browser_ua)
    visitor = client.cookies["rec_vid"].value.split(":")[0]
    assert refresh.run(f"v:{visitor}") == 1
    computed.clear()
    response = client.get(f"{API}/for-you/", {"limit": 4})
    assert computed == []  # served what the refresh stored
    assert str(shop.a[0].pk) not in {r["product_id"] for r in response.json()["results"]}  # just viewed
