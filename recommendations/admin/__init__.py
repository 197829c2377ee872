"""Admin integration: portraits (list, per-shopper page, why inspector, actions) and the
analytics dashboard. ``django.contrib.admin`` autodiscovers this package."""

from recommendations.admin import ads, dashboard, experiments, portraits, quality

__all__ = ["ads", "dashboard", "experiments", "portraits", "quality"]
