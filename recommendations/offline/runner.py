"""Evaluate algorithms on a protocol's test cases, with a progress line (no third-party bar: the
package declares only what it imports)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from recommendations.engine.metrics import METRIC_NAMES, MetricAccumulator, self_information

from .algorithms import ALGORITHMS, build
from .events import DEFAULT_EVENT_WEIGHTS
from .prepare import encode
from .protocols import Task

_T = TypeVar("_T")


def _progress(
    items: Iterable[_T], total: int, desc: str, stream: TextIO | None, every: float = 1.0
) -> Iterator[_T]:
    """Yield ``items``, writing ``desc: done/total`` to ``stream`` at most every ``every``
    seconds and once at the end (carriage returns keep it on one terminal line)."""
    out = stream or sys.stderr
    last = time.monotonic()
    done = 0
    for done, item in enumerate(items, 1):
        yield item
        now = time.monotonic()
        if now - last >= every:
            out.write(f"\r{desc}: {done}/{total}")
            out.flush()
            last = now
    out.write(f"\r{desc}: {done}/{total}\n")
    out.flush()


@dataclass(frozen=True)
class Result:
    algorithm: str
    metrics: dict[str, float]
    fit_seconds: float
    ms_per_query: float
    note: str = ""  # ``auto``: its own validation's choice


def default_algorithms() -> list[str]:
    """Every registered algorithm (the hybrid and the popularity baseline included)."""
    return list(ALGORITHMS)


def evaluate(
    task: Task,
    algorithms: Sequence[str] | None = None,
    k: int = 20,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    progress: bool = True,
    max_cases: int | None = None,
    stream: TextIO | None = None,
) -> list[Result]:
    """Fit every algorithm on ``task.train`` and score it on ``task.cases`` at cut-off ``k``.

    Cases of a known user exclude the user's training items (full ranking over the rest), unless
    the algorithm re-shows them itself (``auto``, where its own holdout chose to): then nothing is
    excluded, so a re-bought or re-visited target counts; session cases exclude nothing (a
    visitor may well click an item again).
    """
    names = list(algorithms or default_algorithms())
    for name in names:
        if name not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {name!r}; valid names: {', '.join(ALGORITHMS)}")
    enc = encode(task.train, weights)
    queries, relevant = [], []
    for case in task.cases[:max_cases] if max_cases else task.cases:
        query = enc.query(case.items, case.timestamps, case.kinds, case.user, case.session, case.at)
        targets = enc.items.lookup(list(case.relevant))
        targets = targets[targets >= 0]
        if len(targets):
            queries.append(query)
            relevant.append(targets)
    info = self_information(enc.train.popularity, enc.train.matrix.shape[0])
    results = []
    for name in names:
        start = time.perf_counter()
        scorer = build(name).fit(enc.train)
        fit_seconds = time.perf_counter() - start
        acc = MetricAccumulator(k, enc.train.matrix.shape[1], info)
        start = time.perf_counter()
        pairs: Iterable[Any] = zip(queries, relevant, strict=True)
        if progress:
            pairs = _progress(pairs, len(queries), f"{task.name} {name}", stream)
        for query, targets in pairs:
            exclude = enc.seen_items(query.row) if scorer.excludes_seen(query) else None
            items, _ = scorer.recommend(query, k, exclude)
            acc.add(items, targets.tolist())
        per_query = 1000 * (time.perf_counter() - start) / max(len(queries), 1)
        describe = getattr(scorer, "describe", None)
        note = describe() if describe is not None else ""
        results.append(Result(name, acc.result(), fit_seconds, per_query, note))
    return results


def format_table(results: Sequence[Result], k: int) -> str:
    """A Markdown table: one row per algorithm."""
    cols = [f"{m}@{k}" for m in METRIC_NAMES] + ["Coverage", "Novelty"]
    lines = [
        "| algorithm | " + " | ".join(cols) + " | n | fit s | ms/query |",
        "|---" * (len(cols) + 4) + "|",
    ]
    for r in results:
        values = " | ".join(f"{r.metrics[c]:.4f}" if c != "Novelty" else f"{r.metrics[c]:.2f}" for c in cols)
        lines.append(
            f"| {r.algorithm} | {values} | {int(r.metrics['n'])} | {r.fit_seconds:.1f} | {r.ms_per_query:.2f} |"
        )
    return "\n".join(lines)


def best(results: Sequence[Result], metric: str) -> Result:
    return max(results, key=lambda r: r.metrics[metric])
