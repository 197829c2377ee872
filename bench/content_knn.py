"""Content neighbours: exact all-pairs against the bounded rare-feature candidates, same vectors.

    nice .venv/bin/python bench/content_knn.py --items 20000        # also runs the exact product
    nice .venv/bin/python bench/content_knn.py --items 200000 --no-exact

The catalogue is the one ``bench/scale.py`` seeds: ``items / 400`` leaves under 10 roots, titles
"Leaf <leaf> item <i> word<leaf % 97> word<i % 389>", uniform prices in 5 bands, no brands.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommendations.engine.content import ContentModel
from recommendations.engine.content_knn import content_neighbours_bounded
from recommendations.engine.similarity import content_neighbours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--no-exact", action="store_true")
    args = parser.parse_args()
    n, rng = args.items, np.random.default_rng(1)
    leaf = rng.integers(0, max(20, n // 400), n)
    texts = [f"Leaf {f} item {i} word{f % 97} word{i % 389}" for i, f in enumerate(leaf)]
    categories = [[f"r{f % 10}", f"l{f}"] for f in leaf]
    prices = (rng.integers(500, 30_000, n) / 100).tolist()
    vectors = ContentModel().fit(texts, categories, None, prices).vectors
    print(f"# {n} items, k={args.k}, load average {os.getloadavg()[0]:.1f}")
    start = time.perf_counter()
    bounded = content_neighbours_bounded(vectors, args.k)
    print(f"bounded: {time.perf_counter() - start:.2f} s, {bounded.nnz} neighbours")
    if not args.no_exact:
        start = time.perf_counter()
        exact = content_neighbours(vectors, args.k, exact_max_items=10**9)
        print(f"exact:   {time.perf_counter() - start:.2f} s, {exact.nnz} neighbours")
        shared = bounded.multiply(exact != 0)
        gap = abs(shared - exact.multiply(bounded != 0)).max() if shared.nnz else float("nan")
        print(f"overlap with exact: {shared.nnz / max(exact.nnz, 1):.4%}, max |score difference| {gap:.1e}")


if __name__ == "__main__":
    main()
