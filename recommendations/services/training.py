"""Deprecated: moved to :mod:`recommendations.training.pipeline` in 0.2 (kept as a re-export)."""

import warnings

from recommendations.training.pipeline import *  # noqa: F403

warnings.warn(
    "recommendations.services.training is deprecated; import from recommendations.training.pipeline",
    DeprecationWarning,
    stacklevel=2,
)
