from recommendations.models.ads import AdClick, AdFrequency, Campaign, CampaignSpend
from recommendations.models.aggregates import DailyEventCount
from recommendations.models.consent import TrackingPreference
from recommendations.models.events import Event
from recommendations.models.experiments import Assignment, Experiment, Variant
from recommendations.models.portraits import AnalyticsDashboard, Portrait
from recommendations.models.quality import ModelQuality
from recommendations.models.trained import ActiveModel, ModelPart, ModelPartChunk, ModelVersion
from recommendations.models.visitors import VisitorLink

__all__ = [
    "ActiveModel",
    "AdClick",
    "AdFrequency",
    "AnalyticsDashboard",
    "Assignment",
    "Campaign",
    "CampaignSpend",
    "DailyEventCount",
    "Event",
    "Experiment",
    "ModelPart",
    "ModelPartChunk",
    "ModelQuality",
    "ModelVersion",
    "Portrait",
    "TrackingPreference",
    "Variant",
    "VisitorLink",
]
