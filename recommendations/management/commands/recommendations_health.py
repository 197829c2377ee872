"""``python manage.py recommendations_health [--json]``: is ingest healthy? Exit 0 when it is,
1 when not (Redis unreachable, backlog or oldest event over its limit, dead letters, a stale worker
heartbeat), so a supervisor, a container healthcheck or a monitoring probe can act on it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Report the event backlog, the oldest waiting event, dead letters and the drain worker's "
        "heartbeat; exit 1 when any is over its RECOMMENDATIONS_HEALTH_* limit or Redis is down."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        from recommendations.ingest.health import check

        report = check()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), sort_keys=True))
        else:
            state = self.style.SUCCESS("healthy") if report.healthy else self.style.ERROR("UNHEALTHY")
            self.stdout.write(f"recommendations ingest: {state} ({report.mode} mode)")
            for item in report.checks:
                mark = "ok  " if item.ok else self.style.ERROR("FAIL")
                self.stdout.write(f"  {mark}  {item.name:<17} {item.detail}")
        if not report.healthy:
            names = ", ".join(item.name for item in report.failures)
            raise CommandError(f"unhealthy: {names}", returncode=1)
