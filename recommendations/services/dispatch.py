"""Send the rebuild through Celery: the chunk tasks as a chord any number of workers can share.

In eager mode (``CELERY_TASK_ALWAYS_EAGER``, the embedded default) signatures are applied in
process with ``.apply()``, which also works when the shop has not configured a Celery app.
"""

from __future__ import annotations

from typing import Any

from celery import chord, current_app, group
from django.conf import settings

from recommendations.services.training import RebuildPlan


def eager() -> bool:
    return bool(current_app.conf.task_always_eager or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def run(signature: Any) -> Any:
    """``apply()`` in eager mode (result value), else ``apply_async()`` (an AsyncResult)."""
    if eager():
        return signature.apply().get()
    return signature.apply_async()


def enqueue_similarity(plan: RebuildPlan) -> Any:
    """The chunk tasks as a group, then the finishing task that swaps the version in."""
    from recommendations import tasks

    body = tasks.finish_model_rebuild.si(plan.version_id, len(plan.chunks))
    if not plan.chunks:
        return run(body)
    header = group(
        tasks.build_similarity_chunk.si(plan.version_id, start, stop) for start, stop in plan.chunks
    )
    return run(chord(header, body))


def rebuild_via_celery(chunk_items: int | None = None) -> Any:
    """Enqueue a full rebuild (or run it through Celery's eager path)."""
    from recommendations import tasks

    return run(tasks.rebuild_models.si(chunk_items))
