"""Offline batch recommendations and evaluation on event files (no product rows needed).

    manage.py recommendations_offline recommend --events TRAIN.csv (--users USERS.txt | --context CONTEXT.csv)
        --k K [--algorithm NAME] --out RECS.csv
    manage.py recommendations_offline evaluate (--dataset NAME [--data-dir DIR] | --events TRAIN.csv)
        [--protocol P [P ...]] [--k 20] [--algorithms A B ...]

``evaluate`` runs the dataset's own (future-shaped) protocol and the random per-user holdout
unless ``--protocol`` names others; ``auto`` (the default algorithm) prints what it chose.

Argument parsing only; the work is in ``recommendations.offline``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.conf import app_settings
from recommendations.offline.algorithms import ALGORITHMS, DEFAULT_ALGORITHM
from recommendations.offline.batch import read_contexts, recommend_contexts, recommend_users, write_rows
from recommendations.offline.datasets import DATASETS, load_csv, load_dataset
from recommendations.offline.events import EventFileError, read_events_csv, read_lines
from recommendations.offline.protocols import PROTOCOLS, make_task
from recommendations.offline.runner import evaluate, format_table

NAMES = ", ".join(ALGORITHMS)


def _weights() -> dict[str, float]:
    return {str(k): float(v) for k, v in app_settings.event_weights.items()}


def _algorithm(name: str) -> str:
    if name not in ALGORITHMS:
        raise CommandError(f"unknown algorithm {name!r}; valid names: {NAMES}")
    return name


class Command(BaseCommand):
    help = "Batch-recommend from an event CSV, or evaluate the algorithms offline."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rec = sub.add_parser("recommend", help="write top-k recommendations to a CSV")
        rec.add_argument(
            "--events", required=True, help="TRAIN.csv: item_id,event,timestamp + user_id/session_id"
        )
        who = rec.add_mutually_exclusive_group(required=True)
        who.add_argument("--users", help="USERS.txt, one user id per line (unknown users get popularity)")
        who.add_argument("--context", help="CONTEXT.csv: session_id,item_id,event,timestamp of live visitors")
        rec.add_argument("--k", type=int, required=True)
        rec.add_argument(
            "--algorithm", default=DEFAULT_ALGORITHM, help=f"one of: {NAMES} (default {DEFAULT_ALGORITHM})"
        )
        rec.add_argument("--out", required=True, help="RECS.csv to write")

        ev = sub.add_parser("evaluate", help="print ranking metrics per algorithm")
        src = ev.add_mutually_exclusive_group(required=True)
        src.add_argument("--dataset", choices=DATASETS)
        src.add_argument("--events", help="a TRAIN.csv in the recommend format (temporal split)")
        ev.add_argument("--data-dir", default="../shared/data")
        ev.add_argument(
            "--protocol",
            nargs="+",
            choices=PROTOCOLS,
            help="default: the dataset's own protocol, then the random per-user holdout",
        )
        ev.add_argument("--validation", action="store_true", help="evaluate on the validation split")
        ev.add_argument("--k", type=int, default=20)
        ev.add_argument("--algorithms", nargs="+", help=f"subset of: {NAMES} (default: all)")
        ev.add_argument("--max-cases", type=int, help="evaluate only the first N test cases")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["k"] <= 0:
            raise CommandError("--k must be a positive integer")
        try:
            if options["action"] == "recommend":
                self._recommend(options)
            else:
                self._evaluate(options)
        except (EventFileError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc

    def _recommend(self, options: dict[str, Any]) -> None:
        algorithm = _algorithm(options["algorithm"])
        weights = _weights()
        train = read_events_csv(options["events"], weights)
        if not len(train):
            raise CommandError(f"{options['events']}: no events")
        if options["users"]:
            rows = recommend_users(
                train,
                read_lines(options["users"]),
                options["k"],
                algorithm,
                weights,
                report=self.stdout.write,
            )
            write_rows(options["out"], "user_id", rows)
        else:
            contexts = read_contexts(options["context"], weights)
            rows = recommend_contexts(
                train, contexts, options["k"], algorithm, weights, report=self.stdout.write
            )
            write_rows(options["out"], "session_id", rows)
        self.stdout.write(f"wrote {len(rows)} rows to {options['out']}")

    def _evaluate(self, options: dict[str, Any]) -> None:
        names = [_algorithm(n) for n in options["algorithms"] or ALGORITHMS]
        if options["dataset"]:
            dataset = load_dataset(options["dataset"], options["data_dir"])
        else:
            dataset = load_csv(options["events"], _weights())
        protocols = options["protocol"] or list(dict.fromkeys([dataset.default_protocol, "holdout"]))
        for protocol in protocols:
            try:
                task = make_task(dataset, protocol, validation=options["validation"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            results = evaluate(
                task, names, k=options["k"], weights=_weights(), max_cases=options["max_cases"]
            )
            self.stdout.write(f"{dataset.name} / {task.name}: {len(task.cases)} test cases, k={options['k']}")
            self.stdout.write(format_table(results, options["k"]))
            for result in results:
                if result.note:
                    self.stdout.write(result.note)
