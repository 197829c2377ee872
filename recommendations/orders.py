"""Deprecated: moved to :mod:`recommendations.tracking.orders` in 0.2 (kept as a re-export)."""

import warnings

from recommendations.tracking.orders import OrderAdapter  # noqa: F401

warnings.warn(
    "recommendations.orders is deprecated; import from recommendations.tracking.orders",
    DeprecationWarning,
    stacklevel=2,
)
