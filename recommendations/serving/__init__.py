"""The serving core: ``recommend(visitor, slot, context, limit)`` with scores and explanations.

from recommendations.serving import recommend, Recommendation, VisitorRef
recommend(VisitorRef.from_request(request), "for_you", {"exclude": [...]}, limit=8)
"""

from recommendations.serving.core import recommend
from recommendations.serving.types import Recommendation, VisitorRef

__all__ = ["Recommendation", "VisitorRef", "recommend"]
