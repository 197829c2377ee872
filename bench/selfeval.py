"""Self-evaluation cost next to a plain rebuild, on bench/engine.py's synthetic 1M-event shop.

    .venv/bin/python bench/selfeval.py                 # 50k users x 20k items x 1M events
    .venv/bin/python bench/selfeval.py --quick         # 5k x 2k x 100k
    .venv/bin/python bench/selfeval.py --evaluations 24  # SELF_EVALUATION_MAX_EVALUATIONS

"plain" is bench/engine.py's full rebuild of every engine model (no tracemalloc); "with
self-evaluation" is what the rebuild then does (recommendations/training/pipeline.py): the
selection on the log's own holdout with the production defaults (300 queries per split, at most
the given number of grid points besides the baselines, costing at most ``--search-cost`` of the
baselines' estimated cost), the same full rebuild serving the selection's iALS baseline as its ALS
instead of fitting one (selfeval.BUILTIN_ALS), and the chosen models on all events: the
validation fits themselves when at most 10 % of the events were held out
(selection.REUSE_HELD_OUT_SHARE), else a refit. Both are measured in the same run; read the
ratio. Sessions are cut at 30 minutes of inactivity per user.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import WEIGHTS, full_rebuild, synthetic_log

from recommendations.engine.candidates import candidates
from recommendations.engine.interactions import build_matrix
from recommendations.engine.selection import REUSE_HELD_OUT_SHARE, Settings, param_key, select
from recommendations.engine.session import Sessions


def with_sessions(log, gap: float = 1800.0):
    order = np.lexsort((log.timestamps, log.users))
    new = np.ones(len(order), dtype=bool)
    new[1:] = ~((log.users[order][1:] == log.users[order][:-1]) & (np.diff(log.timestamps[order]) <= gap))
    sessions = np.empty(len(order), dtype=np.int64)
    sessions[order] = np.cumsum(new) - 1
    log.sessions[:] = sessions
    return log


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--evaluations", type=int, default=8)
    parser.add_argument(
        "--search-cost", type=float, default=0.3, help="SELF_EVALUATION_SEARCH_COST (negative: none)"
    )
    parser.add_argument("--fuse", type=float, default=600.0, help="the search's time fuse (seconds)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    shape = (5_000, 2_000, 100_000) if args.quick else (50_000, 20_000, 1_000_000)
    log, item_topic = synthetic_log(*shape)
    log = with_sessions(log)
    print(f"{shape[0]} users x {shape[1]} items x {shape[2]} events, {int(log.sessions.max()) + 1} sessions")
    start = time.perf_counter()
    steps = full_rebuild(log, item_topic, shape[1], args.threads)
    plain = time.perf_counter() - start
    print("plain rebuild: " + ", ".join(f"{k} {v:.2f}s" for k, v in steps.items()) + f"; total {plain:.1f}s")

    def build(sub):
        return build_matrix(sub, WEIGHTS, half_life_days=14, max_events_per_user=500)

    settings = Settings(
        max_evaluations=args.evaluations, budget_seconds=args.fuse, max_queries=300, min_queries=100,
        max_ease_items=10_000, keep_fitted=True, keep_baseline=("ials",),
        search_cost=None if args.search_cost < 0 else args.search_cost,
    )  # fmt: skip
    start = time.perf_counter()
    selection = select(log, build, settings)
    chose = time.perf_counter() - start
    als = None
    if selection.held_out_share <= REUSE_HELD_OUT_SHARE and "ials" in selection.baselines:
        als = selection.fitted.get(("ials", param_key(selection.baselines["ials"])))
    start = time.perf_counter()
    served = full_rebuild(log, item_topic, shape[1], args.threads, als=als)
    rebuilt = time.perf_counter() - start
    print(
        "rebuild serving the selection's iALS: " + ", ".join(f"{k} {v:.2f}s" for k, v in served.items())
        + f"; total {rebuilt:.1f}s (ALS {'reused' if als is not None else 'fitted'})"
    )  # fmt: skip
    matrix = build(log)
    pool = candidates(matrix, settings.max_ease_items)
    sessions = Sessions.from_log(log)
    start = time.perf_counter()
    fitted, reused = set(), set()
    reuse = selection.held_out_share <= REUSE_HELD_OUT_SHARE
    for choice in selection.contexts.values():
        for model in choice.weights if choice.params else ():
            key = (model, param_key(choice.params.get(model, {})))
            if key in fitted or model not in pool or model in ("stan", "sequential_rules"):
                continue
            fitted.add(key)
            if reuse and key in selection.fitted and model != "popularity":
                reused.add(key)
                continue
            pool[model].fit(choice.params.get(model, {}), matrix, sessions)
    refit = time.perf_counter() - start
    print(
        f"  held out for validation: {selection.held_out_share:.1%} of the events; reused fits: {sorted(reused)}"
    )
    for name, choice in selection.contexts.items():
        chosen = choice.metrics.get("chosen", {}).get("objective")
        popular = choice.metrics.get("popularity", {}).get("objective")
        print(f"  {name}: {choice.weights} chosen {chosen} popularity {popular} ({choice.reason[:90]})")
    print(
        f"  notes: {selection.notes}; fits scored: {selection.evaluated}; seconds per model: {selection.cost}"
    )
    total = chose + rebuilt + refit
    print(
        f"rebuild with self-evaluation: selection {chose:.1f}s (at most {args.evaluations} points, search cost "
        f"{args.search_cost:g}) + rebuild {rebuilt:.1f}s + refit {refit:.1f}s = {total:.1f}s "
        f"= {total / plain:.2f}x plain ({plain:.1f}s); load average {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
