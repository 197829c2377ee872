"""The default Celery beat schedule. In your settings::

from recommendations.schedules import beat_schedule
CELERY_BEAT_SCHEDULE = {**beat_schedule(), **your_own}
"""

from __future__ import annotations

from typing import Any


def beat_schedule(
    *, drain_every: float = 1.0, rebuild_every: float | None = None
) -> dict[str, dict[str, Any]]:
    """Entries for the app's periodic tasks (seconds are floats; names are stable).

    ``rebuild_every`` defaults to ``RECOMMENDATIONS_REBUILD_SCHEDULE`` (seconds; a celery
    ``crontab`` works too). Safe to call from a settings module: before Django settings are
    loaded the built-in default is used.
    """
    from django.conf import settings

    from recommendations.conf import DEFAULTS, app_settings

    rebuild = rebuild_every
    if rebuild is None:
        rebuild = app_settings.REBUILD_SCHEDULE if settings.configured else DEFAULTS["REBUILD_SCHEDULE"]
    portraits = (
        app_settings.PORTRAIT_REBUILD_SCHEDULE
        if settings.configured
        else DEFAULTS["PORTRAIT_REBUILD_SCHEDULE"]
    )
    return {
        "recommendations.rebuild_models": {
            "task": "recommendations.rebuild_models",
            "schedule": rebuild,
            # a rebuild that could not start within its own period is superseded by the next one
            "options": {"expires": float(rebuild) if isinstance(rebuild, int | float) else 3600.0},
        },
        "recommendations.drain_events": {
            "task": "recommendations.drain_events",
            "schedule": drain_every,
            "options": {"expires": max(drain_every * 5, 5.0)},
        },
        # retention: daily roll-up and purge of raw events older than RETENTION_DAYS
        "recommendations.purge_old_events": {
            "task": "recommendations.purge_old_events",
            "schedule": 24 * 3600.0,
            "options": {"expires": 3600.0},
        },
        # every portrait rebuilt and RFM re-scored on the population (nightly by default)
        "recommendations.rebuild_portraits": {
            "task": "recommendations.rebuild_portraits",
            "schedule": portraits,
            "options": {"expires": float(portraits) if isinstance(portraits, int | float) else 3600.0},
        },
    }
