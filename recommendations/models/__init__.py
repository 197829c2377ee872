from recommendations.models.aggregates import DailyEventCount
from recommendations.models.consent import TrackingPreference
from recommendations.models.events import Event
from recommendations.models.portraits import AnalyticsDashboard, Portrait
from recommendations.models.trained import ActiveModel, ModelPart, ModelVersion
from recommendations.models.visitors import VisitorLink

__all__ = [
    "ActiveModel",
    "AnalyticsDashboard",
    "DailyEventCount",
    "Event",
    "ModelPart",
    "ModelVersion",
    "Portrait",
    "TrackingPreference",
    "VisitorLink",
]
