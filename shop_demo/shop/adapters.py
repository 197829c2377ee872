"""How the recommendations app reads this shop's products (``RECOMMENDATIONS_PRODUCT_ADAPTER``)."""

from __future__ import annotations

from decimal import Decimal

from recommendations.catalogue import ProductAdapter

from .models import Product


class ShopProductAdapter(ProductAdapter):
    select_related = ("category", "category__parent", "brand")

    def title(self, product: Product) -> str:
        return product.name

    def description(self, product: Product) -> str:
        return product.description

    def categories(self, product: Product) -> list[str]:
        """Slugs from the department down to the leaf category."""
        category = product.category
        return [category.parent.slug, category.slug] if category.parent_id else [category.slug]

    def category_key(self, category) -> str:
        return category.slug

    def brand(self, product: Product) -> str | None:
        return product.brand.slug if product.brand_id else None

    def price(self, product: Product) -> Decimal | None:
        return product.price

    def is_available(self, product: Product) -> bool:
        return product.in_stock

    def image_url(self, product: Product) -> str | None:
        return product.get_image_url()

    def url(self, product: Product) -> str:
        return product.get_absolute_url()
