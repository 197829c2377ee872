"""The shop is wired into the recommendations app the documented way, and its migrations are current."""

from io import StringIO

import pytest
from django.core.management import call_command

from shop_demo.shop.adapters import ShopProductAdapter

pytestmark = pytest.mark.django_db


def test_system_checks_pass():
    out = StringIO()
    call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


def test_shop_migrations_are_current():
    call_command("makemigrations", "shop", "--check", "--dry-run", stdout=StringIO())


def test_the_app_reads_products_through_the_shop_adapter(catalogue):
    from recommendations.catalogue.products import get_adapter

    adapter = get_adapter()
    assert isinstance(adapter, ShopProductAdapter)
    pan, sold_out = catalogue["pan"], catalogue["sold_out"]
    assert adapter.title(pan) == pan.name
    assert adapter.categories(pan) == ["home-kitchen", "cookware"]
    assert adapter.brand(pan) == "acme"
    assert adapter.price(pan) == pan.price
    assert adapter.url(pan) == pan.get_absolute_url()
    assert adapter.image_url(pan) == pan.get_image_url()
    assert adapter.is_available(pan)
    assert not adapter.is_available(sold_out)
    assert not adapter.is_available(catalogue["inactive"])


def test_adapter_select_related_covers_what_it_reads(catalogue, django_assert_num_queries):
    adapter = ShopProductAdapter()
    with django_assert_num_queries(1):
        products = list(adapter.queryset().filter(pk__in=[p.pk for p in catalogue.values()]))
        paths = [(adapter.categories(p), adapter.brand(p)) for p in products]
    assert len(paths) == len(catalogue)


def test_the_demo_serves_the_api_docs(client):
    """`make demo` shows the interactive API docs at /api/docs/, from the sidecar (no CDN)."""
    from importlib import metadata

    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "jsdelivr" not in html
    from django.contrib.staticfiles import finders

    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    info = schema.json()["info"]
    assert info["title"] == "django-realtime-recommendations API"
    assert info["version"] == metadata.version("django-realtime-recommendations")
    assert "/api/recommendations/events/" in schema.json()["paths"]


def test_portraits_name_brands_not_slugs(catalogue, admin_client):
    """Issue 10 item 20: the portrait's brand chart showed "acme" (the slug the models key on)."""
    from django.contrib.auth import get_user_model

    from recommendations import portraits, signals

    shopper = get_user_model().objects.create_user("brandfan")
    for _ in range(3):
        signals.product_viewed.send(sender=None, product=catalogue["pan"], user=shopper)
    portrait = portraits.rebuild(user=shopper)
    assert [(b["id"], b["label"]) for b in portrait.brands] == [("acme", "Acme")]
    page = admin_client.get(f"/admin/recommendations/portrait/{portrait.pk}/change/").content.decode()
    assert ">Acme<" in page or "Acme:" in page
