"""Deprecated: moved to :mod:`recommendations.tracking.bulk` in 0.2 (kept as a re-export)."""

import warnings

from recommendations.tracking.bulk import *  # noqa: F403

warnings.warn(
    "recommendations.services.events is deprecated; import from recommendations.tracking.bulk",
    DeprecationWarning,
    stacklevel=2,
)
