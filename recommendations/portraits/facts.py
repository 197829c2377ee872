"""Catalogue facts a portrait needs: each product's labelled category path, brand and price, and
the catalogue's price distribution (to place a shopper's prices in it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.core.cache import cache

from recommendations.catalogue.products import get_adapter, pk_values
from recommendations.catalogue.snapshot import category_labels

PRICES_KEY = "portrait:catalogue-prices"
PRICES_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class ProductFacts:
    path: tuple[tuple[str, str], ...]  # (category id, label) from the root to the leaf
    brand: str | None
    price: Decimal | None
    brand_label: str | None = None  # the brand's name (``brand`` is its key)


def product_facts(ids: Iterable[str]) -> dict[str, ProductFacts]:
    """Facts of the given product ids (one query; unknown ids are left out)."""
    adapter = get_adapter()
    keys = pk_values(ids)
    if not keys:
        return {}
    out: dict[str, ProductFacts] = {}
    for product in adapter.queryset().filter(pk__in=keys):
        path = [str(c) for c in adapter.categories(product)]
        out[str(product.pk)] = ProductFacts(
            path=tuple(zip(path, category_labels(product, path), strict=True)),
            brand=adapter.brand(product),
            price=adapter.price(product),
            brand_label=adapter.brand_label(product),
        )
    return out


def catalogue_prices() -> np.ndarray:
    """Every catalogue price (cached for an hour; the distribution moves slowly)."""
    cached = cache.get(PRICES_KEY)
    if cached is not None:
        return np.asarray(cached, dtype=np.float64)
    adapter = get_adapter()
    prices = []
    for product in adapter.queryset().iterator(chunk_size=2000):
        price = adapter.price(product)
        if price is not None:
            prices.append(float(price))
    cache.set(PRICES_KEY, prices, PRICES_SECONDS)
    return np.asarray(prices, dtype=np.float64)
