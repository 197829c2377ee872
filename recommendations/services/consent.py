"""Deprecated: moved to :mod:`recommendations.tracking.consent` in 0.2 (kept as a re-export)."""

import warnings

from recommendations.tracking.consent import *  # noqa: F403

warnings.warn(
    "recommendations.services.consent is deprecated; import from recommendations.tracking.consent",
    DeprecationWarning,
    stacklevel=2,
)
