"""``python manage.py recommendations_rebuild``: rebuild every model now, with progress output."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Rebuild every recommendation model from the Event table and swap the new version in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--celery",
            action="store_true",
            help="Run through Celery (chunk tasks on the workers; in process when tasks are eager).",
        )
        parser.add_argument("--chunk-items", type=int, default=None, help="Items per similarity chunk.")

    def handle(self, *args: Any, **options: Any) -> None:
        from recommendations import modelstore as storage
        from recommendations import tasks as dispatch
        from recommendations.training import pipeline as training

        started = time.perf_counter()
        if options["celery"]:
            result = dispatch.rebuild_via_celery(options["chunk_items"])
            if not dispatch.eager():
                self.stdout.write(f"rebuild enqueued (task {result.id})")
                return
        else:
            training.rebuild(progress=self.stdout.write, chunk_items=options["chunk_items"])
        storage.clear_cache()
        version = storage.active_version_id()
        self.stdout.write(
            self.style.SUCCESS(f"active model version: {version} ({time.perf_counter() - started:.1f}s)")
        )
