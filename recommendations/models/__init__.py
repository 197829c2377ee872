from recommendations.models.consent import TrackingPreference
from recommendations.models.events import Event
from recommendations.models.visitors import VisitorLink

__all__ = ["Event", "TrackingPreference", "VisitorLink"]
