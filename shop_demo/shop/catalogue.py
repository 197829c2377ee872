"""Read side of the shop: what the catalogue pages show."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import Category, Product

SORTS = {
    "new": ("-created_at", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "id"),
    "name": ("name", "id"),
}


def departments() -> list[Category]:
    """Top-level categories with their children prefetched (the header navigation)."""
    return list(Category.objects.filter(parent=None).prefetch_related("children"))


def category_by_slug(slug: str) -> Category | None:
    return Category.objects.select_related("parent").filter(slug=slug).first()


def products_in(category: Category | None, sort: str = "new") -> QuerySet[Product]:
    """Active products of a category (a department includes all of its children)."""
    qs = Product.objects.active().with_relations()
    if category is not None:
        qs = qs.filter(Q(category=category) | Q(category__parent=category))
    return qs.order_by(*SORTS.get(sort, SORTS["new"]))


def search(query: str, sort: str = "new") -> QuerySet[Product]:
    """Every word must match the name, the description or the brand (case-insensitive)."""
    qs = Product.objects.active().with_relations()
    words = query.split()[:8]
    if not words:
        return qs.none()
    for word in words:
        qs = qs.filter(
            Q(name__icontains=word) | Q(description__icontains=word) | Q(brand__name__icontains=word)
        )
    return qs.order_by(*SORTS.get(sort, SORTS["new"]))


def new_arrivals(limit: int = 8) -> list[Product]:
    return list(Product.objects.active().with_relations().filter(stock__gt=0)[:limit])


def department_tiles() -> list[Category]:
    """Departments with a product count, for the home page."""
    return list(
        Category.objects.filter(parent=None).annotate(
            n_products=Count("children__products", filter=Q(children__products__is_active=True))
        )
    )
