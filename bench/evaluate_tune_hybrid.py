"""Grid-search the hybrid's blend weights on a dataset's VALIDATION split (never on test).

    .venv/bin/python bench/evaluate_tune_hybrid.py amazon-beauty --k 10 --metric NDCG
    .venv/bin/python bench/evaluate_tune_hybrid.py yoochoose --k 20 --metric MRR

Components are fitted once; each query's normalised component scores are cached, then every
weight combination is scored from the cache.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommendations.engine.base import top_k
from recommendations.engine.hybrid import normalise
from recommendations.engine.metrics import MetricAccumulator
from recommendations.offline.algorithms import build
from recommendations.offline.datasets import load_dataset
from recommendations.offline.events import DEFAULT_EVENT_WEIGHTS
from recommendations.offline.prepare import encode
from recommendations.offline.protocols import make_task

GRID = [0.0, 0.25, 0.5, 1.0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--protocol")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--metric", default="NDCG")
    parser.add_argument(
        "--components", nargs="+", default=["stan", "sequential_rules", "itemknn", "transitions"]
    )
    parser.add_argument("--max-cases", type=int, default=5000)
    args = parser.parse_args()

    task = make_task(load_dataset(args.dataset, args.data_dir), args.protocol, validation=True)
    enc = encode(task.train, DEFAULT_EVENT_WEIGHTS)
    models = {name: build(name).fit(enc.train) for name in args.components}
    rng = np.random.default_rng(0)
    cases = [task.cases[i] for i in rng.permutation(len(task.cases))[: args.max_cases]]
    cache = []
    for case in tqdm(cases, desc="scoring"):
        query = enc.query(case.items, case.timestamps, case.kinds, case.user)
        target = enc.items.lookup(list(case.relevant))
        parts = np.vstack([normalise(models[n].scores(query)) for n in args.components])
        cache.append((parts, target, enc.seen_items(query.row)))
    results = []
    for weights in itertools.product(GRID, repeat=len(args.components)):
        if not any(weights) or max(weights) != 1.0:
            continue
        acc = MetricAccumulator(args.k, enc.train.matrix.shape[1])
        w = np.asarray(weights)
        for parts, target, seen in cache:
            score = w @ parts
            acc.add(top_k(np.where(score > 0, score, -np.inf), args.k, seen), target.tolist())
        res = acc.result()
        results.append((res[f"{args.metric}@{args.k}"], res[f"HR@{args.k}"], res[f"MRR@{args.k}"], weights))
    results.sort(reverse=True)
    print("components:", args.components)
    for metric, hr, mrr, weights in results[:10]:
        print(f"{args.metric}@{args.k} {metric:.4f} HR {hr:.4f} MRR {mrr:.4f} weights {weights}")


if __name__ == "__main__":
    main()
