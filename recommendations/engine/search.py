"""The order in which the self-evaluation (:mod:`.selection`) visits a candidate's grid: a
seeded, deterministic coordinate search from the default (or the live version's choice)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .candidates import Params


def _axes(grid: list[Params]) -> dict[str, list[Any]]:
    axes: dict[str, list[Any]] = {}
    for point in grid:
        for key, value in point.items():
            if value not in axes.setdefault(key, []):
                axes[key].append(value)
    return axes


def _differ(a: Params, b: Params) -> int:
    return sum(a.get(k) != b.get(k) for k in set(a) | set(b))


def search_order(
    grid: list[Params],
    tried: list[tuple[Params, float]],
    rng: np.random.Generator,
    centre: Params | None = None,
) -> Iterator[Params]:
    """The grid points after the default, in the order a coordinate search visits them; ``tried``
    (params, objective) grows as the caller scores what this yields, and the order follows it:

    1. every point that changes one hyper-parameter of the ``centre`` (the default unless given:
       a rebuild passes the previous version's choice, scored first in the default's place), all
       axes, each value;
    2. the centre with each hyper-parameter set to its best value of step 1 (one point);
    3. repeatedly, the untried one-change neighbours of the best point so far;
    4. every other point, in a seeded random order.

    Deterministic given the scores; a point is never yielded twice."""
    if len(grid) <= 1:
        return
    keys = {repr(sorted(p.items())) for p in grid}
    default = centre if centre is not None and repr(sorted(centre.items())) in keys else grid[0]
    done = {repr(sorted(default.items()))}  # the baseline, scored first; the default (when the
    # centre is another point) is one more point of the search

    def fresh(point: Params) -> bool:
        key = repr(sorted(point.items()))
        return key in keys and key not in done

    def visit(point: Params) -> Params:
        done.add(repr(sorted(point.items())))
        return point

    for point in grid:
        if _differ(point, default) == 1 and fresh(point):
            yield visit(point)
    score = {repr(sorted(p.items())): value for p, value in tried}
    best_values = dict(default)
    for key, values in _axes(grid).items():
        options = [{**default, key: value} for value in values]
        scored = [(score.get(repr(sorted(o.items())), -np.inf), -j, o) for j, o in enumerate(options)]
        best_values[key] = max(scored, key=lambda t: t[:2])[2][key]
    if fresh(best_values):
        yield visit(best_values)
    while True:
        best = max(tried, key=lambda pv: pv[1])[0] if tried else default
        neighbours = [p for p in grid if _differ(p, best) == 1 and fresh(p)]
        if not neighbours:
            break
        for point in neighbours:
            yield visit(point)
    rest = [p for p in grid if fresh(p)]
    for j in rng.permutation(len(rest)).tolist():
        if fresh(rest[j]):
            yield visit(rest[j])
