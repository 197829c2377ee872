"""Self-evaluation cost next to a plain rebuild, on bench/engine.py's synthetic 1M-event shop.

    .venv/bin/python bench/selfeval.py                 # 50k users x 20k items x 1M events
    .venv/bin/python bench/selfeval.py --quick         # 5k x 2k x 100k
    .venv/bin/python bench/selfeval.py --evaluations 24  # SELF_EVALUATION_MAX_EVALUATIONS

"plain" is bench/engine.py's full rebuild of every engine model (no tracemalloc); "with
self-evaluation" is what the rebuild then does (recommendations/training/pipeline.py): the
selection on the log's own holdout with the production defaults (300 queries per split, at most
the given number of grid points besides the baselines, costing at most ``--search-cost`` of the
baselines' estimated cost), the same full rebuild serving the selection's iALS and item-kNN
baselines as its ALS and item-kNN instead of fitting them (selfeval.BUILTIN_ALS, BUILTIN_ITEMKNN),
and the chosen models on all events: the
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


class Clock:
    """Wall-clock and process CPU seconds (every thread) since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def with_self_evaluation(log, item_topic, n_items, args):
    """The rebuild with self-evaluation: the selection, the rebuild serving its iALS baseline as
    ALS, and the chosen models on all events (reused validation fits cost nothing)."""

    def build(sub):
        return build_matrix(sub, WEIGHTS, half_life_days=14, max_events_per_user=500)

    settings = Settings(
        max_evaluations=args.evaluations, budget_seconds=args.fuse, max_queries=300, min_queries=100,
        max_ease_items=10_000, keep_fitted=True, keep_baseline=("ials", "itemknn"),
        search_cost=None if args.search_cost < 0 else args.search_cost,
    )  # fmt: skip
    clock = Clock()
    selection = select(log, build, settings)
    chose = clock.read()
    base = {m: selection.fitted.get((m, param_key(p))) for m, p in selection.baselines.items()}
    if selection.held_out_share > REUSE_HELD_OUT_SHARE:
        base = {}
    knn = base.get("itemknn")  # the built-in item-kNN (cosine, k 50) when it weighs items so
    if knn is not None and (knn.similarity_kind, knn.shrink, knn.normalize) != ("cosine", 0.0, False):
        knn = None
    als = base.get("ials")
    served = full_rebuild(log, item_topic, n_items, args.threads, als=als, itemknn=knn)
    rebuilt = clock.read()
    matrix = build(log)
    pool = candidates(matrix, settings.max_ease_items)
    sessions = Sessions.from_log(log)
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
    total = clock.read()
    print(
        f"  selection {chose[0]:.1f}s, rebuild serving its baselines {rebuilt[0] - chose[0]:.1f}s (ALS "
        f"{'reused' if als is not None else 'fitted'}, item-kNN {'reused' if knn is not None else 'fitted'}: "
        + ", ".join(f"{k} {v:.2f}s" for k, v in served.items())
        + f"), chosen models {total[0] - rebuilt[0]:.1f}s; held out {selection.held_out_share:.1%}; "
        f"reused fits {sorted(reused)}"
    )  # fmt: skip
    return selection, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--evaluations", type=int, default=8)
    parser.add_argument(
        "--search-cost", type=float, default=0.2, help="SELF_EVALUATION_SEARCH_COST (negative: none)"
    )
    parser.add_argument("--fuse", type=float, default=600.0, help="the search's time fuse (seconds)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds of both (median)")
    args = parser.parse_args()
    shape = (5_000, 2_000, 100_000) if args.quick else (50_000, 20_000, 1_000_000)
    log, item_topic = synthetic_log(*shape)
    log = with_sessions(log)
    print(f"{shape[0]} users x {shape[1]} items x {shape[2]} events, {int(log.sessions.max()) + 1} sessions")
    print(f"load average {os.getloadavg()}")
    rounds = []
    for n in range(args.repeat):
        clock = Clock()
        steps = full_rebuild(log, item_topic, shape[1], args.threads)
        plain = clock.read()
        print(
            f"round {n + 1}: plain {plain[0]:.1f}s ("
            + ", ".join(f"{k} {v:.2f}s" for k, v in steps.items())
            + ")"
        )
        selection, total = with_self_evaluation(log, item_topic, shape[1], args)
        rounds.append((plain, total))
        print(
            f"  with self-evaluation {total[0]:.1f}s = {total[0] / plain[0]:.2f}x plain wall-clock, "
            f"{total[1] / plain[1]:.2f}x plain CPU ({total[1]:.1f} / {plain[1]:.1f} CPU s); load {os.getloadavg()[0]:.1f}"
        )  # fmt: skip
    for name, choice in selection.contexts.items():
        chosen = choice.metrics.get("chosen", {}).get("objective")
        popular = choice.metrics.get("popularity", {}).get("objective")
        print(f"  {name}: {choice.weights} chosen {chosen} popularity {popular} ({choice.reason[:90]})")
    print(
        f"  notes: {selection.notes}; fits scored: {selection.evaluated}; seconds per model: {selection.cost}"
    )
    wall = sorted(t[0] / p[0] for p, t in rounds)
    cpu = sorted(t[1] / p[1] for p, t in rounds)
    print(
        f"rebuild with self-evaluation / plain over {args.repeat} interleaved rounds: wall-clock "
        f"{', '.join(f'{r:.2f}' for r in wall)} (median {wall[len(wall) // 2]:.2f}x); CPU "
        f"{', '.join(f'{r:.2f}' for r in cpu)} (median {cpu[len(cpu) // 2]:.2f}x); "
        f"at most {args.evaluations} points, search cost {args.search_cost:g}; load average {os.getloadavg()}"
    )  # fmt: skip


if __name__ == "__main__":
    main()
