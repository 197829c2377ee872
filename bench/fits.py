"""Item-kNN and ALS fits: our numpy code, the ``implicit`` backend, and implicit itself, one process.

    nice .venv/bin/python bench/fits.py                # 50k users x 20k items x 1M events
    nice .venv/bin/python bench/fits.py --quick        # 5k x 2k x 100k, a smoke run

The data is ``bench/engine.py``'s seeded synthetic shop and its ``build_matrix`` confidence
matrix. Each measurement is the median of ``--repeat`` runs, the contenders interleaved so that
load on the shared machine hits them alike. Rows:

* item-kNN top-50 cosine: ``ItemKNN.fit`` (ours, the upper-half product), the chunked
  ``knn_block`` path a rebuild runs (``SIMILARITY_CHUNK_ITEMS`` = 5000), our ``implicit`` backend
  (``engine.backends.itemknn_similarity``: weighting, implicit's ``all_pairs_knn``, our cut), and
  implicit's ``CosineRecommender(K=51)`` as it is used on its own;
* ALS with the app's defaults (64 factors, 15 iterations, regularisation 0.05, alpha 10, 3 CG
  steps): ``ALS.fit`` (ours), ``engine.backends.fit_als(..., "implicit")`` and implicit's
  ``AlternatingLeastSquares`` on the same confidences.

Quality: item-kNN neighbour lists of the backend against ours (share of our entries it has,
largest value difference); ALS Recall@10 of ours and of the backend on a held-out item per user.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine import WEIGHTS, holdout, recall_at_10, synthetic_log
from recommendations.engine import backends
from recommendations.engine.als import ALS
from recommendations.engine.interactions import build_matrix
from recommendations.engine.itemknn import ItemKNN
from recommendations.engine.similarity import (
    assemble_triples,
    chunk_bounds,
    knn_block,
    prepare,
)

K = 50
ALS_PARAMS = {"factors": 64, "iterations": 15, "regularization": 0.05, "alpha": 10.0, "seed": 0}


def chunked(matrix: sp.csr_matrix, chunk: int = 5000) -> sp.csr_matrix:
    weighted, left, right = prepare(matrix, "cosine")
    n = matrix.shape[1]
    parts = [knn_block(weighted, left, right, a, b, K) for a, b in chunk_bounds(n, chunk)]
    return assemble_triples(parts, n)


def interleaved(contenders: dict, repeat: int) -> dict[str, tuple[float, float, object]]:
    """Median wall and CPU (all threads) time of each contender, run in turn ``repeat`` rounds,
    and its last output. On a shared machine the CPU time is the steadier of the two."""
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    outputs: dict[str, object] = {}
    for _ in range(repeat):
        for name, fn in contenders.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            outputs[name] = fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: (statistics.median(wall[name]), statistics.median(cpu[name]), outputs[name])
        for name in contenders
    }


def agreement(ours: sp.csr_matrix, theirs: sp.csr_matrix) -> tuple[float, float]:
    """Share of our stored neighbours the other matrix also has, and the largest value gap."""
    both = ours.multiply(theirs != 0)
    gap = abs(ours - theirs).max() if both.nnz else float("inf")
    return both.nnz / max(ours.nnz, 1), float(gap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-chunked", action="store_true", help="leave out the chunked rebuild path")
    args = parser.parse_args()
    n_users, n_items, n_events = (5_000, 2_000, 100_000) if args.quick else (50_000, 20_000, 1_000_000)

    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import CosineRecommender
    from threadpoolctl import threadpool_limits

    log, _ = synthetic_log(n_users, n_items, n_events)
    matrix = build_matrix(log, WEIGHTS, half_life_days=14, max_events_per_user=500)
    print(f"# {n_users} users x {n_items} items, {n_events} events -> {matrix.nnz} non-zeros")
    print(f"# python {platform.python_version()}, cores {os.cpu_count()}, threads {args.threads}")
    print(f"# date {subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}")
    print(f"# load average before {os.getloadavg()}")

    knn = {
        "ours (ItemKNN.fit)": lambda: ItemKNN(k=K).fit(matrix).similarity,
        "backend implicit": lambda: backends.itemknn_similarity(
            prepare(matrix, "cosine")[0], K, threads=args.threads
        ),
        "implicit CosineRecommender": lambda: CosineRecommender(K=K + 1, num_threads=args.threads).fit(
            matrix, show_progress=False
        ),
    }
    if not args.skip_chunked:
        knn["ours (chunked rebuild path)"] = lambda: chunked(matrix)
    knn_results = interleaved(knn, args.repeat)
    base, base_cpu, _ = knn_results["implicit CosineRecommender"]
    share, gap = agreement(knn_results["ours (ItemKNN.fit)"][2], knn_results["backend implicit"][2])
    print("\n| item-kNN top-50 cosine fit | wall s | ratio to implicit | CPU s | CPU ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name, (seconds, cpu, _) in knn_results.items():
        print(f"| {name} | {seconds:.3f} | {seconds / base:.2f}x | {cpu:.3f} | {cpu / base_cpu:.2f}x |")
    print(f"\nbackend neighbours vs ours: {share:.4%} of our entries shared, max |diff| {gap:.1e}")

    train, users, held = holdout(matrix)
    rng = np.random.default_rng(5)
    pick = np.sort(rng.choice(len(users), min(5000, len(users)), replace=False))
    users, held = users[pick], held[pick]
    confidence = train.copy()
    confidence.data = (1.0 + ALS_PARAMS["alpha"] * confidence.data).astype(np.float32)

    def raw_implicit():
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=64, iterations=15, regularization=0.05, num_threads=args.threads, random_state=0
            )
            model.fit(confidence, show_progress=False)
        return model

    als = {
        "ours (ALS.fit)": lambda: ALS(**ALS_PARAMS, threads=args.threads).fit(train),
        "backend implicit": lambda: backends.fit_als(
            ALS(**ALS_PARAMS, threads=args.threads), train, "implicit"
        ),
        "implicit AlternatingLeastSquares": raw_implicit,
    }
    als_results = interleaved(als, args.repeat)
    base, base_cpu, _ = als_results["implicit AlternatingLeastSquares"]
    print(
        "\n| ALS 64 factors x 15 iterations fit | wall s | ratio to implicit | CPU s | CPU ratio | Recall@10 |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (seconds, cpu, model) in als_results.items():
        recall = recall_at_10(
            np.asarray(model.user_factors), np.asarray(model.item_factors), train, users, held
        )
        print(
            f"| {name} | {seconds:.2f} | {seconds / base:.2f}x | {cpu:.2f} | {cpu / base_cpu:.2f}x "
            f"| {recall:.4f} |"
        )
    print(f"\n# load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
