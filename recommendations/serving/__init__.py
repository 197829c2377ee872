"""The serving core: ``recommend(visitor, slot, context, limit)`` with scores and explanations.

from recommendations.serving import recommend
from recommendations.tracking.visitors import subject_of_request
recommend(subject_of_request(request), "for_you", {"exclude": [...]}, limit=8)
# a page's slots in one pass (one live-state read; later slots skip what earlier ones show)
recommend_slots(subject, [SlotRequest("for_you"), SlotRequest("trending", {}, 6)])

``Subject`` (and its deprecated alias ``VisitorRef``) is re-exported here for 0.1 callers; it lives in
:mod:`recommendations.subjects`.
"""

from recommendations.serving.core import SlotRequest, recommend, recommend_slots
from recommendations.serving.types import Recommendation, Subject, VisitorRef

__all__ = ["Recommendation", "SlotRequest", "Subject", "VisitorRef", "recommend", "recommend_slots"]
