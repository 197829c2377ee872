"""The catalogue pages render real data and their filters, searches and pages behave."""

import pytest
from django.urls import reverse

from .factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_home_shows_departments_new_arrivals_and_header(client, catalogue):
    response = client.get(reverse("shop:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Home &amp; Kitchen" in html
    assert "Sports &amp; Outdoors" in html
    assert catalogue["pan"].name in html
    assert catalogue["inactive"].name not in html
    assert 'name="q"' in html  # search box
    assert reverse("login") in html
    assert reverse("shop:cart") in html


def test_home_renders_on_an_empty_catalogue(client, db):
    response = client.get(reverse("shop:home"))
    assert response.status_code == 200
    assert "seed_demo" in response.content.decode()


def test_product_list_shows_active_products_only(client, catalogue):
    response = client.get(reverse("shop:product_list"))
    assert response.status_code == 200
    names = {p.name for p in response.context["page_obj"]}
    assert catalogue["pan"].name in names
    assert catalogue["sold_out"].name in names
    assert catalogue["inactive"].name not in names


def test_category_filter_on_a_leaf_and_on_a_department(client, catalogue):
    leaf = client.get(reverse("shop:product_list"), {"category": "cookware"})
    assert {p.name for p in leaf.context["page_obj"]} == {catalogue["pan"].name, catalogue["pot"].name}

    dept = client.get(reverse("shop:product_list"), {"category": "home-kitchen"})
    assert {p.name for p in dept.context["page_obj"]} == {
        catalogue["pan"].name,
        catalogue["pot"].name,
        catalogue["knife"].name,
    }


def test_unknown_category_is_404(client, catalogue):
    assert client.get(reverse("shop:product_list"), {"category": "nope"}).status_code == 404


def test_sort_by_price(client, catalogue):
    response = client.get(reverse("shop:product_list"), {"sort": "price"})
    prices = [p.price for p in response.context["page_obj"]]
    assert prices == sorted(prices)


def test_pagination_keeps_the_filter(client, catalogue):
    category = catalogue["pan"].category
    ProductFactory.create_batch(30, category=category)
    first = client.get(reverse("shop:product_list"), {"category": "cookware"})
    assert first.context["page_obj"].paginator.num_pages == 2
    assert "category=cookware&amp;page=2" in first.content.decode()
    second = client.get(reverse("shop:product_list"), {"category": "cookware", "page": 2})
    assert len(second.context["page_obj"]) == 32 - 24


def test_product_detail(client, catalogue):
    pan = catalogue["pan"]
    response = client.get(reverse("shop:product_detail", kwargs={"pk": pan.pk}))
    assert response.status_code == 200
    html = response.content.decode()
    assert pan.name in html
    assert "39.99" in html
    assert "Add to cart" in html
    assert pan.get_image_url() in html


def test_sold_out_product_cannot_be_added(client, catalogue):
    response = client.get(catalogue["sold_out"].get_absolute_url())
    assert "sold out" in response.content.decode().lower()
    assert "Add to cart" not in response.content.decode()


def test_inactive_product_is_404(client, catalogue):
    assert client.get(catalogue["inactive"].get_absolute_url()).status_code == 404


def test_product_image_is_an_svg_coloured_by_department(client, catalogue):
    pan = client.get(catalogue["pan"].get_image_url())
    pot = client.get(catalogue["pot"].get_image_url())
    tent = client.get(catalogue["tent"].get_image_url())
    assert pan.status_code == 200
    assert pan["Content-Type"] == "image/svg+xml"
    assert pan.content.startswith(b"<svg")
    background = pan.content.split(b'fill="')[1].split(b'"')[0]
    assert background == pot.content.split(b'fill="')[1].split(b'"')[0]  # same category
    assert background != tent.content.split(b'fill="')[1].split(b'"')[0]  # other department


def test_product_image_is_well_formed_xml_with_special_characters(client, catalogue):
    from xml.etree import ElementTree

    product = ProductFactory(name="Tom & Jerry's <Best> Mug", category__name="Coffee & Tea")
    svg = client.get(product.get_image_url()).content
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own SVG; raises on a bad entity like &AMP;
    texts = [el.text for el in root.iter() if el.tag.endswith("text")]
    assert "COFFEE & TEA" in texts


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("frying", {"pan"}),
        ("ACME", {"pan", "pot"}),  # brand, case-insensitive
        ("japanese", {"knife"}),  # description
        ("acme pot", {"pot"}),  # every word must match
        ("lantern", set()),  # inactive products are never found
    ],
)
def test_search_matches_name_description_and_brand(client, catalogue, query, expected):
    response = client.get(reverse("shop:search"), {"q": query})
    assert response.status_code == 200
    assert {p.name for p in response.context["page_obj"]} == {catalogue[k].name for k in expected}


def test_empty_search_renders_a_prompt(client, catalogue):
    response = client.get(reverse("shop:search"), {"q": "  "})
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == 0


def test_recommendation_slots_exist_as_named_blocks():
    from django.template import loader
    from django.template.loader_tags import BlockNode

    def blocks(name):
        template = loader.get_template(name).template
        return {node.name for node in template.nodelist.get_nodes_by_type(BlockNode)}

    assert {"slot_ads"} <= blocks("shop/base.html")
    assert {"slot_for_you", "slot_trending"} <= blocks("shop/home.html")
    assert {"slot_similar", "slot_bought_together"} <= blocks("shop/product_detail.html")
    assert "slot_cart" in blocks("shop/cart.html")
    assert "slot_search" in blocks("shop/search.html")
