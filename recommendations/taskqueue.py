"""How the app hands work to Celery, without importing the task module (which sits above the
features): eager detection, and running a signature the same way in both modes.

In eager mode (``CELERY_TASK_ALWAYS_EAGER``, the embedded default) signatures are applied in
process with ``.apply()``, which also works when the shop has not configured a Celery app.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.conf import settings


def eager() -> bool:
    return bool(current_app.conf.task_always_eager or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def run(signature: Any) -> Any:
    """``apply()`` in eager mode (result value), else ``apply_async()`` (an AsyncResult)."""
    if eager():
        return signature.apply().get()
    return signature.apply_async()


def send(name: str, *args: Any, countdown: float | None = None) -> Any:
    """Enqueue the task registered as ``name`` (e.g. ``"recommendations.rebuild_portrait"``).

    Features call tasks by name so that they never import :mod:`recommendations.tasks`."""
    return current_app.signature(name, args=args).apply_async(countdown=countdown)
