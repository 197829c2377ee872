"""Item-kNN fit profile: ours beside implicit's ``CosineRecommender(K=50)``, same process, same data.

    .venv/bin/python bench/itemknn_profile.py                # 50k x 20k x 1M, 5 interleaved runs
    .venv/bin/python bench/itemknn_profile.py --repeat 9 --check

Prints wall and CPU seconds per run and the medians; the ratio (ours / implicit wall) is what the
target is about. ``--check`` also compares our neighbour lists with a single-block brute force of
the same similarity (values and ranks). Check ``uptime`` first: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import WEIGHTS, synthetic_log

from recommendations.engine.interactions import build_matrix
from recommendations.engine.itemknn import ItemKNN


def clock(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    from implicit.nearest_neighbours import CosineRecommender

    log, _ = synthetic_log(50_000, 20_000, 1_000_000)
    matrix = build_matrix(log, WEIGHTS, half_life_days=14, max_events_per_user=500)
    print(f"# load {os.getloadavg()}, matrix {matrix.shape} nnz {matrix.nnz}")
    ours, theirs = [], []
    for _ in range(args.repeat):
        ours.append(clock(lambda: ItemKNN(k=50).fit(matrix)))
        theirs.append(
            clock(lambda: CosineRecommender(K=50, num_threads=args.threads).fit(matrix, show_progress=False))
        )
        print(
            f"ours {ours[-1][0]:.3f}s (cpu {ours[-1][1]:.2f})  implicit {theirs[-1][0]:.3f}s "
            f"(cpu {theirs[-1][1]:.2f})  ratio {ours[-1][0] / theirs[-1][0]:.2f}x"
        )
    o, t = statistics.median(w for w, _ in ours), statistics.median(w for w, _ in theirs)
    print(f"median: ours {o:.3f}s implicit {t:.3f}s ratio {o / t:.2f}x; load {os.getloadavg()}")
    if args.check:
        fast = ItemKNN(k=50).fit(matrix).similarity
        slow = ItemKNN(k=50, similarity="asymmetric", alpha=0.5).fit(matrix).similarity  # full product
        diff = abs(fast - slow)
        rows = range(0, matrix.shape[1], 97)
        same = np.mean([set(fast[i].indices) == set(slow[i].indices) for i in rows])
        print(
            f"check vs full-product path: max |diff| {diff.max():.2e}, nnz {fast.nnz} / {slow.nnz}, "
            f"same neighbour sets {same:.3f} (every 97th row)"
        )


if __name__ == "__main__":
    main()
