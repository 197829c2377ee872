"""Deprecated: the event contract moved to :mod:`recommendations.schema` in 0.2 (re-export)."""

import warnings

from recommendations.schema import *  # noqa: F403
from recommendations.schema import EventIn, EventRow, EventValidationError, subject_key  # noqa: F401

warnings.warn(
    "recommendations.tracking.schema is deprecated; import from recommendations.schema",
    DeprecationWarning,
    stacklevel=2,
)
