"""Deprecated: moved to :mod:`recommendations.privacy.service` in 0.2 (kept as a re-export)."""

import warnings

from recommendations.privacy.service import *  # noqa: F403

warnings.warn(
    "recommendations.services.privacy is deprecated; import from recommendations.privacy.service",
    DeprecationWarning,
    stacklevel=2,
)
