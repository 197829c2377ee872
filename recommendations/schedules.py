"""The default Celery beat schedule. In your settings::

from recommendations.schedules import beat_schedule
CELERY_BEAT_SCHEDULE = {**beat_schedule(), **your_own}
"""

from __future__ import annotations

from typing import Any


def beat_schedule(*, drain_every: float = 1.0) -> dict[str, dict[str, Any]]:
    """Entries for the app's periodic tasks (seconds are floats; names are stable)."""
    return {
        "recommendations.drain_events": {
            "task": "recommendations.drain_events",
            "schedule": drain_every,
            "options": {"expires": max(drain_every * 5, 5.0)},
        },
    }
