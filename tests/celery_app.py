"""Celery app for the test settings, used by the integration tests' worker processes::

    DJANGO_SETTINGS_MODULE=tests.settings celery -A tests.celery_app worker -P solo

The broker is the Redis at ``REDIS_URL`` (the settings' in-memory broker cannot cross processes).
The test process never imports this module (it would become Celery's current app and turn the
unit tests' eager tasks into broker messages); it sends tasks with its own client app.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from celery import Celery

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
if os.environ.get("REDIS_URL"):
    app.conf.broker_url = os.environ["REDIS_URL"]
app.conf.task_always_eager = False
if os.environ.get("RECOMMENDATIONS_TEST_CELERY_EAGER") == "0":
    # a worker that enqueues for real: chords (the similarity rebuild) need a result backend, and
    # what it sends stays on its own queue
    app.conf.result_backend = os.environ["REDIS_URL"]
    app.conf.task_default_queue = os.environ["RECOMMENDATIONS_TEST_QUEUE"]
if os.environ.get("RECOMMENDATIONS_TEST_BEAT_QUEUE"):
    # beat (the scale-out tests): the app's own schedule, sent to the workers' shared queue
    from recommendations.schedules import beat_schedule

    queue = os.environ["RECOMMENDATIONS_TEST_BEAT_QUEUE"]
    schedule = beat_schedule(drain_every=float(os.environ.get("RECOMMENDATIONS_TEST_BEAT_DRAIN_EVERY", "1")))
    for entry in schedule.values():
        entry["options"] = {**entry.get("options", {}), "queue": queue}
    app.conf.beat_schedule = schedule
app.autodiscover_tasks()
