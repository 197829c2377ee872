"""The shop's catalogue as the app sees it: the product model named in
``RECOMMENDATIONS_PRODUCT_MODEL``, the adapter that reads it, cached product facts, and the
snapshot that numbers items for a model version (:mod:`.snapshot`)."""

from recommendations.catalogue.products import (
    ProductAdapter,
    ProductDisplay,
    ProductInfo,
    get_adapter,
    get_product_model,
    product_display,
    product_info,
)

__all__ = [
    "ProductAdapter",
    "ProductDisplay",
    "ProductInfo",
    "get_adapter",
    "get_product_model",
    "product_display",
    "product_info",
]
