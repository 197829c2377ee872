"""Deprecated: moved to :mod:`recommendations.catalogue` in 0.2 (kept as a re-export)."""

import warnings

from recommendations.catalogue.products import *  # noqa: F403
from recommendations.catalogue.products import ProductAdapter, get_adapter, get_product_model  # noqa: F401

warnings.warn(
    "recommendations.products is deprecated; import from recommendations.catalogue",
    DeprecationWarning,
    stacklevel=2,
)
