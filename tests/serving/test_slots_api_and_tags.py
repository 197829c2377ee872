"""What shops render: the recommendation API endpoints and the template tags, on a trained shop."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory

from recommendations.attribution import unsign
from recommendations.models import Event
from recommendations.tracking.visitors import get_visitor
from recommendations.training import pipeline as training

API = "/api/recommendations"


@pytest.fixture
def trained(shop):
    visitors = shop.history()
    training.rebuild()
    return shop, visitors


def _browse(client, items, browser_ua):
    for item in items:
        assert client.get(f"/items/{item.pk}/", **browser_ua).status_code == 200


def test_for_you_follows_the_last_clicks(client, trained, browser_ua):
    shop, _ = trained
    _browse(client, shop.b[:3], browser_ua)
    response = client.get(f"{API}/for-you/", {"limit": 4})
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    results = response.json()["results"]
    assert len(results) == 4
    assert {r["product_id"] for r in results} <= shop.ids(shop.b)
    for position, result in enumerate(results):
        assert result["reason"]
        assert result["source"]
        assert result["title"].startswith("Pan")
        token = unsign(result["token"])
        assert (token.slot, token.position, token.product_id) == ("for_you", position, result["product_id"])
        assert f"rt={result['token']}" in result["url"].replace("%3A", ":")


def test_similar_and_bought_together_endpoints(client, trained):
    shop, _ = trained
    for name in ("similar", "bought-together"):
        response = client.get(f"{API}/products/{shop.a[2].pk}/{name}/", {"limit": 3})
        assert response.status_code == 200, response.content
        ids = {r["product_id"] for r in response.json()["results"]}
        assert ids
        assert ids <= shop.ids(shop.a) - {str(shop.a[2].pk)}


def test_unknown_product_is_404(client, trained):
    assert client.get(f"{API}/products/{uuid.uuid4()}/similar/").status_code == 404
    assert client.get(f"{API}/products/not-a-uuid/similar/").status_code == 404


def test_trending_in_a_category_is_public_and_cacheable(client, trained):
    shop, _ = trained
    response = client.get(f"{API}/trending/", {"category": str(shop.kitchen.pk), "limit": 5})
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=30"
    assert {r["product_id"] for r in response.json()["results"]} <= shop.ids(shop.b)


def test_recently_viewed_is_the_visitors_own(client, trained, browser_ua):
    shop, _ = trained
    _browse(client, [shop.a[0], shop.b[1]], browser_ua)
    results = client.get(f"{API}/recently-viewed/").json()["results"]
    assert [r["product_id"] for r in results][:2] == [str(shop.b[1].pk), str(shop.a[0].pk)]
    other = client.__class__()
    assert other.get(f"{API}/recently-viewed/").json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": 0}, "limit"), ({"limit": "x"}, "limit"), ({"limit": 51}, "limit")]
)
def test_query_validation(client, trained, params, field):
    response = client.get(f"{API}/for-you/", params)
    assert response.status_code == 400
    body = response.json()  # the API's one error shape (issue 10 item 14), naming the parameter
    assert body["error"] == "invalid" and [e["field"] for e in body["errors"]] == [field]
    assert body["detail"].startswith("Invalid request: limit: ")


def test_unknown_slot_recipe_is_400(client, trained):
    response = client.get(f"{API}/for-you/", {"slot": "nope"})
    assert response.status_code == 400
    assert "nope" in response.json()["detail"]


def test_reading_another_users_recommendations_needs_the_permission(client, trained, django_user_model):
    _shop, _ = trained
    shopper = django_user_model.objects.create_user("shopper")
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    client.force_login(staff)
    assert client.get(f"{API}/for-you/", {"user": shopper.pk}).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_any_recommendations"))
    staff = django_user_model.objects.get(pk=staff.pk)  # fresh permission cache
    client.force_login(staff)
    assert client.get(f"{API}/for-you/", {"user": shopper.pk}).status_code == 200
    assert client.get(f"{API}/for-you/", {"user": 999_999}).status_code == 404


def test_click_through_a_token_link_is_attributed_once(client, trained, browser_ua):
    shop, _ = trained
    _browse(client, shop.a[:2], browser_ua)
    first = client.get(f"{API}/for-you/", {"limit": 3}).json()["results"][1]
    for _ in range(2):  # a reload of the product page does not count a second click
        assert client.get(first["url"], **browser_ua).status_code == 200
    click = Event.objects.get(kind="click")
    assert (click.slot, click.position, str(click.product_id)) == ("for_you", 1, first["product_id"])
    assert click.context["source"] == first["source"]


def _render(source: str, request, **context) -> str:
    return Template("{% load recommendations %}" + source).render(Context({"request": request, **context}))


def _request_for(client, browser_ua):
    request = RequestFactory().get("/", **browser_ua)
    request.COOKIES.update({k: v.value for k, v in client.cookies.items()})
    request.user = type("Anon", (), {"is_authenticated": False, "pk": None})()
    return request


def test_inclusion_tag_renders_items_with_tokens_and_reasons(client, trained, browser_ua):
    shop, _ = trained
    _browse(client, shop.b[:3], browser_ua)
    html = _render("{% for_you limit=3 %}", _request_for(client, browser_ua))
    assert html.count('class="rec-item"') == 3
    assert "Pan" in html
    assert "Tent" not in html
    assert html.count("data-rec-token=") == 3
    assert "rec-item__reason" in html


def test_assignment_form_and_product_argument(
    client, trained, browser_ua, django_assert_max_num_queries, settings
):
    shop, _ = trained
    # the served version is re-read every MODEL_CHECK_SECONDS (5): on a loaded machine that moment
    # fell inside the measured render (one query, CI 2026-12-02); this test is about display fields
    settings.RECOMMENDATIONS_MODEL_CHECK_SECONDS = 3600
    request = _request_for(client, browser_ua)
    get_visitor(request)
    _render("{% similar_products product limit=2 as warm %}", request, product=shop.a[0])  # warm caches
    with django_assert_max_num_queries(0):  # display fields come from the process cache
        html = _render(
            "{% similar_products product limit=2 as items %}{% for i in items %}[{{ i.title }}]{% endfor %}",
            request,
            product=shop.a[0],
        )
    assert html.count("[Tent") == 2


def test_every_tag_renders_before_any_model_is_trained(shop, client, browser_ua):
    _browse(client, shop.a[:2], browser_ua)
    request = _request_for(client, browser_ua)
    html = _render(
        "{% for_you limit=2 %}|{% trending limit=2 %}|{% recently_viewed limit=2 %}"
        "|{% similar_products product limit=2 %}|{% complete_cart cart limit=2 %}"
        '|{% recommendation_slot "bought_together" product=product limit=2 %}',
        request,
        product=shop.a[0],
        cart=[shop.a[1]],
    )
    parts = html.split("|")
    assert "rec-item" in parts[0]
    assert "rec-item" in parts[1]
    assert "rec-item" in parts[2]


def test_a_failing_slot_renders_nothing_and_never_breaks_the_page(trained, monkeypatch, caplog, settings):
    from recommendations.serving import page

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(page, "recommend_slots", explode)
    html = _render("<p>{% for_you %}</p>{% for_you as items %}{{ items|length }}", None)
    assert html == "<p></p>0"
    assert "boom" in caplog.text


def test_tag_syntax_errors_are_clear():
    with pytest.raises(TemplateSyntaxError, match="slot name"):
        Template("{% load recommendations %}{% recommendation_slot %}")
    with pytest.raises(TemplateSyntaxError, match="at most 1"):
        Template("{% load recommendations %}{% similar_products a b %}")


def test_beacon_points_at_the_ingest_endpoint():
    html = _render("{% recommendations_beacon %}", None)
    assert "/api/recommendations/events/" in html
    assert "IntersectionObserver" in html


def test_tags_take_category_objects_and_slot_items(client, trained, browser_ua):
    shop, _ = trained
    request = _request_for(client, browser_ua)
    html = _render("{% trending category=cat limit=4 as items %}{% for i in items %}[{{ i.title }}]{% endfor %}",
                   request, cat=shop.kitchen)  # fmt: skip
    assert "[Pan" in html
    assert "[Tent" not in html
    first = _render("{% trending limit=3 as items %}{{ items.0.product_id }}", request)
    rest = _render(
        "{% trending limit=3 as items %}{% trending limit=3 exclude=items as others %}"
        "{% for o in others %}{{ o.product_id }},{% endfor %}",
        request,
    )
    assert first not in rest


def test_a_project_override_of_the_slot_template_is_honoured(client, trained, browser_ua, settings, tmp_path):
    """The tags write the app's slot markup directly only while ``recommendations/slot.html`` is the
    app's own file; a project's override (or ``template=``) renders through the template engine."""
    shop, _ = trained
    _browse(client, shop.b[:3], browser_ua)
    request = _request_for(client, browser_ua)
    assert _render("{% for_you limit=3 %}", request).count('class="rec-item"') == 3
    (tmp_path / "recommendations").mkdir()
    (tmp_path / "recommendations" / "slot.html").write_text(
        "<ol class='mine'>{% for item in items %}<li>{{ item.title }}</li>{% endfor %}</ol>"
    )
    templates = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path), *settings.TEMPLATES[0].get("DIRS", [])]}]
    settings.TEMPLATES = templates
    html = _render("{% for_you limit=3 %}", _request_for(client, browser_ua))
    assert html.startswith("<ol class='mine'>") and html.count("<li>") == 3
    assert 'class="rec-item"' not in html
