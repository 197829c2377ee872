"""The serving core: ``recommend(visitor, slot, context, limit)`` with scores and explanations.

from recommendations.serving import recommend
from recommendations.tracking.visitors import subject_of_request
recommend(subject_of_request(request), "for_you", {"exclude": [...]}, limit=8)

``Subject`` (and its deprecated alias ``VisitorRef``) is re-exported here for 0.1 callers; it lives in
:mod:`recommendations.subjects`.
"""

from recommendations.serving.core import recommend
from recommendations.serving.types import Recommendation, Subject, VisitorRef

__all__ = ["Recommendation", "Subject", "VisitorRef", "recommend"]
