"""The shop's pages carry every recommendation slot, explain each item, and follow the shopper."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from recommendations.models import Event
from shop_demo.shop.models import Product
from shop_demo.shop.seeding import seed_demo

pytestmark = pytest.mark.django_db


class SlotParser(HTMLParser):
    """Rendered slot cards (``li.rec-card``: their data attributes, title and link) by slot."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str]] = []
        self.reason_lines = 0
        self.beacons = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        classes = attributes.get("class", "").split()
        if tag == "li" and "rec-card" in classes:
            self.cards.append(attributes)
        elif tag == "a" and "rec-link" in classes and self.cards:
            self.cards[-1]["href"] = attributes["href"]
        elif tag == "p" and "rec-reason" in classes:
            self.reason_lines += 1

    def handle_data(self, data: str) -> None:
        self.beacons += "sendBeacon" in data and "impression" in data

    def slot(self, name: str) -> list[dict[str, str]]:
        return [card for card in self.cards if card["data-rec-slot"] == name]


def parse(response) -> SlotParser:
    assert response.status_code == 200
    parser = SlotParser()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def trained():
    """A small seeded shop with trained models."""
    report = seed_demo(n_products=90, n_categories=6, n_shoppers=40, seed=7)
    assert report.model_version is not None
    return report


def test_every_page_has_the_impression_beacon_once(client, catalogue):
    pan = catalogue["pan"]
    urls = [
        reverse("shop:home"),
        reverse("shop:product_list") + "?category=cookware",
        reverse("shop:product_detail", kwargs={"pk": pan.pk}),
        reverse("shop:search") + "?q=pan",
        reverse("shop:cart"),
        reverse("login"),
    ]
    for url in urls:
        assert parse(client.get(url)).beacons == 1, url


def test_pages_render_their_slots_with_reasons_and_attribution_links(client, trained):
    product = Product.objects.filter(is_active=True, stock__gt=0).order_by("pk").first()
    client.post(reverse("shop:cart_add", kwargs={"pk": product.pk}), {"quantity": 1})
    pages = {
        reverse("shop:home"): {"for_you", "trending"},
        reverse("shop:product_detail", kwargs={"pk": product.pk}): {"similar", "bought_together"},
        reverse("shop:cart"): {"cart"},
        reverse("shop:search") + "?q=" + product.name.split()[-2]: {"search"},
        reverse("shop:product_list") + f"?category={product.category.slug}": {"trending"},
    }
    for url, slots in pages.items():
        page = parse(client.get(url))
        rendered = {card["data-rec-slot"] for card in page.cards}
        assert slots <= rendered <= slots | {"recently_viewed"}, url
        for card in page.cards:
            assert card["title"].strip(), f"{url}: every item explains itself on hover"
            assert "?rt=" in card["href"] and card["data-rec-token"] in card["href"].replace("%3A", ":")
            assert card["data-category"] and card["data-rec-product"]
        assert page.reason_lines == len(page.cards), url

    product_page = parse(client.get(reverse("shop:product_detail", kwargs={"pk": product.pk})))
    shown = {card["data-rec-product"] for card in product_page.cards}
    assert str(product.pk) not in shown, "the product page never recommends the product itself"
    cart_page = parse(client.get(reverse("shop:cart")))
    assert str(product.pk) not in {card["data-rec-product"] for card in cart_page.slot("cart")}
    listing = parse(client.get(reverse("shop:product_list") + f"?category={product.category.slug}"))
    assert {card["data-category"] for card in listing.slot("trending")} == {product.category.slug}


def test_home_for_you_and_trending_do_not_repeat_each_other(client, trained):
    home = parse(client.get(reverse("shop:home")))
    for_you = {card["data-rec-product"] for card in home.slot("for_you")}
    trending = {card["data-rec-product"] for card in home.slot("trending")}
    assert for_you and trending
    assert not for_you & trending


def test_for_you_follows_what_the_shopper_just_viewed(client, trained):
    home = reverse("shop:home")
    before = [card["data-category"] for card in parse(client.get(home)).slot("for_you")]
    # a category the anonymous home page does not lead with
    category = next(
        slug
        for slug, _ in Counter(
            Product.objects.filter(is_active=True).values_list("category__slug", flat=True)
        ).most_common()
        if Counter(before)[slug] <= 1
    )
    viewed = list(Product.objects.filter(category__slug=category, is_active=True).order_by("pk")[:3])
    for product in viewed:
        client.get(reverse("shop:product_detail", kwargs={"pk": product.pk}))

    page = parse(client.get(home))
    after = [card["data-category"] for card in page.slot("for_you")]
    assert Counter(after)[category] > Counter(before)[category]
    assert Counter(after).most_common(1)[0][0] == category, after
    recently = [int(card["data-rec-product"]) for card in page.slot("recently_viewed")]
    assert recently == [p.pk for p in reversed(viewed)]


def test_a_click_through_a_slot_link_is_attributed(client, trained):
    card = parse(client.get(reverse("shop:home"))).slot("for_you")[2]
    client.get(card["href"])
    click = Event.objects.get(kind="click")
    assert click.slot == "for_you"
    assert click.position == 2
    assert str(click.product_id) == card["data-rec-product"]


def test_you_may_also_like_on_search_never_repeats_the_search_hits(client, trained):
    hits = list(Product.objects.filter(is_active=True).order_by("pk")[:1])
    word = hits[0].name.split()[-1]
    response = client.get(reverse("shop:search"), {"q": word})
    page = response.context["page_obj"]
    shown = {str(p.pk) for p in page.object_list}
    assert shown
    suggested = {card["data-rec-product"] for card in parse(response).slot("search")}
    assert suggested, "the slot should still suggest something"
    assert not suggested & shown


def test_a_product_page_never_shows_a_product_twice(client, trained):
    for product in Product.objects.filter(is_active=True).order_by("pk")[:15]:
        parser = parse(client.get(product.get_absolute_url()))
        together = {card["data-rec-product"] for card in parser.slot("bought_together")}
        similar = {card["data-rec-product"] for card in parser.slot("similar")}
        assert not together & similar, product.pk
        assert str(product.pk) not in together | similar
