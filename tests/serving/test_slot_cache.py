"""The slot cache and the one-pass page: hits, misses, what makes an entry stale, both stores, and
cross-slot de-duplication in the template tags and the API."""

from __future__ import annotations

import uuid

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from recommendations.live import get_live_store
from recommendations.serving import SlotRequest, page, recommend, recommend_slots
from recommendations.serving.cache import MemorySlotCache, RedisSlotCache, get_slot_cache
from recommendations.serving.page import SlotSpec, page_rows
from recommendations.serving.render import page_items
from recommendations.subjects import Subject
from recommendations.tracking.recorder import record
from recommendations.tracking.visitors import Visitor
from recommendations.training import pipeline as training

API = "/api/recommendations"


@pytest.fixture
def trained(shop):
    visitors = shop.history()
    training.rebuild()
    return shop, visitors


@pytest.fixture
def computed(monkeypatch):
    """Counts the one-pass computations (cache misses) and the slots they computed."""
    calls: list[list[str]] = []
    real = page.recommend_slots

    def counting(visitor, requests):
        calls.append([r.slot for r in requests])
        return real(visitor, requests)

    monkeypatch.setattr(page, "recommend_slots", counting)
    return calls


def _visitor() -> Visitor:
    return Visitor(uuid.uuid4(), None, False, False, "", "desktop")


def _view(shop, visitor: Visitor, items) -> None:
    record([shop.event("view", item, visitor.visitor_id) for item in items], source="api", visitor=visitor)


def test_a_second_read_is_a_hit_with_fresh_tokens(trained, computed):
    shop, _ = trained
    visitor = _visitor()
    _view(shop, visitor, shop.b[:2])
    first = page_items(None, [SlotSpec("for_you", {}, 4)], visitor=visitor.subject)[0]
    second = page_items(None, [SlotSpec("for_you", {}, 4)], visitor=visitor.subject)[0]
    assert computed == [["for_you"]]  # the second read computed nothing
    assert [i.product_id for i in first] == [i.product_id for i in second]
    assert [(i.title, i.price, i.reason, i.source) for i in first] == [
        (i.title, i.price, i.reason, i.source) for i in second
    ]
    assert first[0].token != second[0].token  # each render signs its own tokens (request id)
    assert second[0].product.pk is not None  # the model row still loads on demand


def test_cached_rows_equal_the_uncached_computation(trained):
    shop, _ = trained
    visitor = _visitor()
    _view(shop, visitor, shop.a[:3])
    specs = [SlotSpec("for_you", {}, 5), SlotSpec("trending", {}, 3)]
    fresh = page_rows(visitor.subject, specs)  # miss: computed and stored
    cached = page_rows(visitor.subject, specs)  # hit
    assert cached == fresh == page.compute(visitor.subject, specs, ["for_you", "trending"])


def test_a_new_event_makes_the_entry_stale(trained, computed):
    shop, _ = trained
    visitor = _visitor()
    _view(shop, visitor, shop.b[:2])
    before = page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])[0]
    assert {r.product_id for r in before} <= shop.ids(shop.b)
    _view(shop, visitor, shop.a[:4])
    after = page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])[0]
    assert len(computed) == 2
    assert {r.product_id for r in after} & shop.ids(shop.a)  # the new clicks show at once


def test_an_impression_does_not_invalidate(trained, computed):
    shop, _ = trained
    visitor = _visitor()
    _view(shop, visitor, shop.b[:2])
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    version = get_live_store().state_version(visitor.subject.key)
    record(
        [shop.event("impression", shop.b[3], visitor.visitor_id, slot="for_you")],
        source="api",
        visitor=visitor,
    )
    assert get_live_store().state_version(visitor.subject.key) == version
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    assert len(computed) == 1


def test_a_new_model_version_makes_the_entry_stale(trained, computed):
    shop, _ = trained
    visitor = _visitor()
    _view(shop, visitor, shop.b[:2])
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    training.rebuild()
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    assert len(computed) == 2


def test_an_expired_entry_is_recomputed(trained, computed, settings):
    settings.RECOMMENDATIONS_SLOT_CACHE_TTL_SECONDS = 0
    visitor = _visitor()
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    page_rows(visitor.subject, [SlotSpec("for_you", {}, 4)])
    assert len(computed) == 2


def test_the_embedded_defaults_cache_in_process_with_an_lru_bound(trained, computed, settings):
    settings.RECOMMENDATIONS_SLOT_CACHE_MAX_ENTRIES = 2
    cache = get_slot_cache()
    assert isinstance(cache, MemorySlotCache)
    subjects = [Subject(None, uuid.uuid4()) for _ in range(3)]
    for subject in subjects:
        page_rows(subject, [SlotSpec("for_you", {}, 3)])
    assert len(computed) == 3
    page_rows(subjects[2], [SlotSpec("for_you", {}, 3)])  # kept
    assert len(computed) == 3
    page_rows(subjects[0], [SlotSpec("for_you", {}, 3)])  # the least recently used was dropped
    assert len(computed) == 4


def test_the_cache_can_be_turned_off(trained, computed, settings):
    settings.RECOMMENDATIONS_SLOT_CACHE = False
    assert get_slot_cache() is None
    subject = Subject(None, uuid.uuid4())
    page_rows(subject, [SlotSpec("for_you", {}, 3)])
    page_rows(subject, [SlotSpec("for_you", {}, 3)])
    assert len(computed) == 2


def test_a_computation_that_raced_with_an_event_is_not_stored(trained):
    shop, _ = trained
    visitor = _visitor()
    cache = get_slot_cache()
    lookup = cache.get(visitor.subject.key, "k", "1.0")
    _view(shop, visitor, shop.b[:1])  # the state moves on while the answer is being computed
    assert not cache.put(
        visitor.subject.key, "k", version=lookup.version, model="1.0", payload="[]", spec="[]"
    )
    assert cache.get(visitor.subject.key, "k", "1.0").payload is None


def test_the_redis_cache_hits_invalidates_and_refuses_stale_writes(trained, computed, redis_settings):
    shop, _ = trained
    cache = get_slot_cache()
    assert isinstance(cache, RedisSlotCache)
    visitor = _visitor()
    _view(shop, visitor, shop.b[:2])  # through the Lua script: bumps the version in Redis
    version = get_live_store().state_version(visitor.subject.key)
    assert version >= 1
    spec = [SlotSpec("for_you", {}, 4), SlotSpec("trending", {}, 3)]
    first = page_rows(visitor.subject, spec)
    assert page_rows(visitor.subject, spec) == first
    assert len(computed) == 1
    _view(shop, visitor, shop.a[:4])
    assert get_live_store().state_version(visitor.subject.key) > version
    after = page_rows(visitor.subject, spec)
    assert len(computed) == 2
    assert {r.product_id for r in after[0]} & shop.ids(shop.a)
    lookup = cache.get(visitor.subject.key, "other", "x")
    _view(shop, visitor, shop.a[4:5])
    assert not cache.put(
        visitor.subject.key, "other", version=lookup.version, model="x", payload="[]", spec="[]"
    )
    get_live_store().forget(visitor.subject.key)  # erasure drops the cached slots with the state
    assert cache.specs(visitor.subject.key) == {}


def test_saving_a_product_makes_entries_showing_it_stale(trained, computed, redis_settings):
    shop, _ = trained
    subject = Subject(None, uuid.uuid4())
    rows = page_rows(subject, [SlotSpec("trending", {}, 3)])[0]
    product = shop.a[0].__class__.objects.get(pk=rows[0].product_id)
    product.name = "Renamed"
    product.save()
    again = page_rows(subject, [SlotSpec("trending", {}, 3)])[0]
    assert len(computed) == 2
    assert again[0].title == "Renamed"


# --- one pass, cross-slot de-duplication ----------------------------------------------------------


def test_one_slot_of_a_page_is_what_recommend_gives_alone(trained):
    shop, _ = trained
    visitor = _visitor()
    _view(shop, visitor, shop.a[:2] + shop.b[:1])
    alone = recommend(visitor.subject, "for_you", {}, 6)
    assert recommend_slots(visitor.subject, [SlotRequest("for_you", {}, 6)])[0] == alone
    first, second = recommend_slots(
        visitor.subject,
        [SlotRequest("for_you", {}, 6), SlotRequest("similar", {"product": str(shop.a[0].pk)}, 6)],
    )
    assert first == alone  # the first slot is unchanged; later slots skip what it shows
    assert not {r.product_id for r in first} & {r.product_id for r in second}


def test_one_live_state_read_per_page(trained, monkeypatch):
    from recommendations.serving import core

    reads = []
    real = core.gather
    monkeypatch.setattr(core, "gather", lambda *a: reads.append(a) or real(*a))
    recommend_slots(
        Subject(None, uuid.uuid4()),
        [SlotRequest("for_you"), SlotRequest("trending"), SlotRequest("recently_viewed")],
    )
    assert len(reads) == 1


def _page_request(client, browser_ua):
    request = RequestFactory().get("/", **browser_ua)
    request.COOKIES.update({k: v.value for k, v in client.cookies.items()})
    request.user = type("Anon", (), {"is_authenticated": False, "pk": None})()
    return request


def test_template_tags_compute_the_page_in_one_pass_without_repeats(trained, client, browser_ua, computed):
    shop, _ = trained
    for item in shop.b[:3]:
        client.get(f"/items/{item.pk}/", **browser_ua)
    request = _page_request(client, browser_ua)
    html = Template(
        "{% load recommendations %}{% for_you limit=6 as a %}{% trending limit=6 as b %}"
        "{% recently_viewed limit=6 as c %}"
        "{% for i in a %}a{{ i.product_id }} {% endfor %}|{% for i in b %}b{{ i.product_id }} {% endfor %}"
        "|{% for i in c %}{{ i.product_id }} {% endfor %}"
    ).render(Context({"request": request}))
    assert computed == [["for_you", "trending", "recently_viewed"]]  # one computation for the page
    a, b, c = (part.split() for part in html.split("|"))
    a, b = {x[1:] for x in a}, {x[1:] for x in b}
    assert a and b
    assert not a & b
    assert c[:3] == [str(i.pk) for i in reversed(shop.b[:3])]  # the visitor's own history stays whole
    page_html = (
        "{% load recommendations %}{% for_you limit=6 %}{% trending limit=L %}{% recently_viewed limit=6 %}"
    )
    html = Template(page_html).render(Context({"request": _page_request(client, browser_ua), "L": 6}))
    assert len(computed) == 1  # the same slots rendered through the template: a hit
    assert html.count('data-rec-slot="trending"') == 1 + len(b)
    Template(page_html).render(Context({"request": _page_request(client, browser_ua), "L": 4}))
    assert len(computed) == 2  # other slot options: another entry


def test_a_slot_under_a_condition_is_computed_on_its_own_when_it_renders(trained, computed):
    html = Template(
        "{% load recommendations %}{% trending limit=3 as t %}{% if show %}{% for_you limit=3 as f %}{% endif %}"
        "{% for i in t %}{{ i.product_id }} {% endfor %}|{% for i in f %}{{ i.product_id }} {% endfor %}"
    ).render(Context({"show": True}))
    assert computed == [["trending"], ["for_you"]]
    shown, more = (set(part.split()) for part in html.split("|"))
    assert shown and more and not shown & more


def test_the_page_endpoint_dedups_across_slots(trained, client, browser_ua, computed):
    shop, _ = trained
    for item in shop.b[:2]:
        client.get(f"/items/{item.pk}/", **browser_ua)
    response = client.get(f"{API}/page/", {"slots": "for_you,trending,recently_viewed", "limit": 6})
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "private, no-store"
    slots = response.json()["slots"]
    assert [s["slot"] for s in slots] == ["for_you", "trending", "recently_viewed"]
    ids = [[r["product_id"] for r in s["results"]] for s in slots]
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])
    assert ids[2] == [str(i.pk) for i in reversed(shop.b[:2])]
    assert client.get(f"{API}/page/", {"slots": "for_you,trending,recently_viewed", "limit": 6}).json() != {}
    assert len(computed) == 1  # the second request was a hit
    assert client.get(f"{API}/page/", {"slots": "nope"}).status_code == 400
    assert client.get(f"{API}/page/").status_code == 400


def test_the_direct_hmget_reads_what_redis_py_reads(redis_settings):
    import redis

    from recommendations.runtime import redis_client
    from recommendations.serving.resp import HotReader

    client = redis_client()
    key = f"{redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX}resp-test"
    client.hset(key, mapping={"ver": "7", "e:k": "“payload”|with\r\nbytes" * 50})
    reader = HotReader(client)
    assert reader.supported
    fields = ("ver", "e:k", "missing")
    assert reader.hmget(key, fields) == client.hmget(key, fields)
    reader.close()  # a dropped socket is opened again
    assert reader.hmget(key, fields) == client.hmget(key, fields)
    client.set(key, "not a hash")
    with pytest.raises(redis.ResponseError):
        reader.hmget(key, fields)
    assert reader.hmget(f"{key}:none", ("ver",)) == [None]  # the connection after an error works
    client.delete(key)


def test_redis_reads_are_answered_in_process_until_the_visitor_changes(trained, computed, redis_settings):
    """SLOT_NEAR_CACHE_ENTRIES: a repeated read makes no round trip; the visitor's next event (this
    process's or another's) is seen at once."""
    import redis

    shop, _ = trained
    cache = get_slot_cache()
    assert isinstance(cache, RedisSlotCache) and cache.near is not None
    visitor = _visitor()
    _view(shop, visitor, shop.b[:2])
    spec = [SlotSpec("for_you", {}, 4)]
    first = page_rows(visitor.subject, spec)
    hits = cache.near.hits
    for _ in range(3):
        assert page_rows(visitor.subject, spec) == first
    assert cache.near.hits >= hits + 2 and len(computed) == 1
    _view(shop, visitor, shop.a[:4])  # this process: dropped here directly
    assert {r.product_id for r in page_rows(visitor.subject, spec)[0]} & shop.ids(shop.a)
    assert len(computed) == 2
    other = redis.Redis.from_url(redis_settings.RECOMMENDATIONS_REDIS_URL)
    other.hincrby(get_live_store().slots_key(visitor.subject.key), "ver", 1)  # another process
    page_rows(visitor.subject, spec)
    assert len(computed) == 3


def test_the_near_copy_can_be_turned_off(trained, computed, redis_settings):
    redis_settings.RECOMMENDATIONS_SLOT_NEAR_CACHE_ENTRIES = 0
    cache = get_slot_cache()
    assert isinstance(cache, RedisSlotCache) and cache.near is None
