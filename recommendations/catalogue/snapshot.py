"""A snapshot of the catalogue for training and serving: ids, titles, categories, prices, stock.

Text columns (``ids``, ``titles``, ``texts``, ``brands``, ``category_ids``, ``category_labels``) are
stored as UTF-8 bytes + offsets (:mod:`recommendations.engine.strings`; read them with
:func:`~recommendations.engine.strings.column`): at 1M products the fixed-width ``<U`` arrays were
~400 bytes an item. The snapshot fixes the item numbering of a model version (catalogue order by primary key), and
carries what explanations and filters need at serving time without a query per request.
Category labels are read best-effort from ``product.category`` (and its ``parent`` chain) when the
chain matches the adapter's category path; otherwise the category id is the label.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from recommendations.catalogue.products import get_adapter
from recommendations.engine import strings
from recommendations.engine.interactions import IdIndex


def category_labels(product: Any, path: list[str]) -> list[str]:
    """Category names along ``product.category.parent`` when that chain matches the path."""
    names, category = [], getattr(product, "category", None)
    while category is not None and len(names) < 16:
        names.append(str(category))
        category = getattr(category, "parent", None)
    names.reverse()
    return names if len(names) == len(path) else list(path)


def snapshot() -> dict[str, np.ndarray]:
    """Catalogue arrays (one row per product) plus the category table (one row per category)."""
    adapter = get_adapter()
    ids, titles, texts, brands = (strings.StringColumn() for _ in range(4))
    prices, available, leaf = array("d"), array("b"), array("q")
    cat_codes: dict[str, int] = {}
    cat_labels: list[str] = []
    cat_parent: list[int] = []
    path_lengths, path_codes = array("q"), array("q")
    for product in adapter.queryset().order_by("pk").iterator(chunk_size=2000):
        title = adapter.title(product)
        path = [str(c) for c in adapter.categories(product)]
        labels = category_labels(product, path)
        codes, parent = [], -1
        for cat, label in zip(path, labels, strict=True):
            code = cat_codes.get(cat)
            if code is None:
                code = cat_codes[cat] = len(cat_codes)
                cat_labels.append(label)
                cat_parent.append(parent)
            codes.append(code)
            parent = code
        price = adapter.price(product)
        ids.append(str(product.pk))
        titles.append(title)
        texts.append(f"{title} {adapter.description(product)}")
        brands.append(adapter.brand(product) or "")
        prices.append(np.nan if price is None else float(price))
        available.append(bool(adapter.is_available(product)))
        leaf.append(codes[-1] if codes else -1)
        path_lengths.append(len(codes))
        path_codes.extend(codes)
    return {
        **ids.arrays("ids"),
        **titles.arrays("titles"),
        **texts.arrays("texts"),
        **brands.arrays("brands"),
        "price": np.asarray(prices, dtype=np.float64),
        "available": np.asarray(available, dtype=bool),
        "category": np.asarray(leaf, dtype=np.int64),
        **strings.encode("category_ids", cat_codes),
        **strings.encode("category_labels", cat_labels),
        "category_parent": np.asarray(cat_parent, dtype=np.int64),
        "path_indptr": np.r_[0, np.cumsum(np.asarray(path_lengths, dtype=np.int64))].astype(np.int64),
        "path_codes": np.asarray(path_codes, dtype=np.int64),
    }


def item_index(catalogue: dict[str, np.ndarray]) -> IdIndex:
    return IdIndex(strings.column(catalogue, "ids"))
