"""Serving-core latency: ``recommend()`` for a visitor with 50 live events, models cached.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/recommend.py [--items 20000]

A seeded synthetic power-law log (users x items) is turned into the same parts a rebuild stores
(services.models_build + the chunked item-kNN), loaded through ``serving.bundle.load`` from memory,
and ``recommend()`` is timed per slot. The live state is the in-process store holding 50 events of
the visitor; product availability comes from a pre-warmed ``product_info`` cache (as in a running
shop). Baseline, same process: one engine call ``ItemKNN.score(row)`` for the same 50-item history.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime

import django
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from recommendations import modelstore as storage  # noqa: E402
from recommendations import runtime  # noqa: E402
from recommendations.catalogue.products import ProductInfo  # noqa: E402
from recommendations.engine.interactions import build_matrix, encode_log  # noqa: E402
from recommendations.engine.itemknn import ItemKNN  # noqa: E402
from recommendations.engine.similarity import (  # noqa: E402
    assemble_triples,
    chunk_bounds,
    csr_arrays,
    knn_block,
    prepare,
)
from recommendations.schema import EventRow  # noqa: E402
from recommendations.serving import bundle as bundles  # noqa: E402
from recommendations.serving import recommend  # noqa: E402
from recommendations.subjects import Subject  # noqa: E402
from recommendations.training import parts as models_build  # noqa: E402
from recommendations.training.eventlog import TrainingLog  # noqa: E402


def synthetic(n_users: int, n_items: int, n_events: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, n_items + 1) ** 0.8
    item_p /= item_p.sum()
    user_p = 1.0 / np.arange(1, n_users + 1) ** 0.6
    user_p /= user_p.sum()
    users = rng.choice(n_users, n_events, p=user_p)
    items = rng.choice(n_items, n_events, p=item_p)
    kinds = rng.choice(["view", "add_to_cart", "purchase"], n_events, p=[0.85, 0.1, 0.05])
    stamps = 1.7e9 + np.sort(rng.random(n_events)) * 30 * 86400
    log, user_index, item_index = encode_log(
        [f"u:{u}" for u in users], [f"{i:06d}" for i in items], kinds, stamps
    )
    return log, user_index, item_index


def build_parts(log, user_index, item_index, n_categories: int = 50) -> dict:
    n = log.n_items
    rng = np.random.default_rng(1)
    leaf = rng.integers(0, n_categories, n)
    catalogue = {
        "ids": np.asarray(item_index.ids.tolist(), dtype=str),
        "titles": np.asarray([f"Product {i}" for i in range(n)], dtype=str),
        "texts": np.asarray([f"product {i} kind{leaf[i]}" for i in range(n)], dtype=str),
        "brands": np.asarray([f"b{i % 40}" for i in range(n)], dtype=str),
        "price": rng.uniform(5, 500, n),
        "available": np.ones(n, dtype=bool),
        "category": leaf.astype(np.int64),
        "category_ids": np.asarray([f"c{c}" for c in range(n_categories)], dtype=str),
        "category_labels": np.asarray([f"Category {c}" for c in range(n_categories)], dtype=str),
        "category_parent": np.full(n_categories, -1, dtype=np.int64),
        "path_indptr": np.arange(n + 1, dtype=np.int64),
        "path_codes": leaf.astype(np.int64),
    }
    catalogue["interactions"] = np.bincount(log.items, minlength=n)
    data = TrainingLog(log=log, subjects=user_index, baskets=np.where(log.kinds == 2, log.users, -1))
    weights = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
    matrix = build_matrix(log, weights, half_life_days=60.0)
    weighted, left, right = prepare(matrix, "cosine")
    knn = assemble_triples([knn_block(weighted, left, right, a, b, 50) for a, b in chunk_bounds(n, 5000)], n)
    return (
        {
            "catalogue": catalogue,
            "users": models_build.users_part(data, matrix),
            "trending": models_build.trending_part(data, catalogue, float(log.timestamps.max())),
            "bought_together": models_build.bought_together_part(data, n),
            "session": models_build.session_part(data),
            "content": models_build.content_part(catalogue),
            "als": models_build.als_part(matrix),
            "itemknn": csr_arrays(knn),
        },
        matrix,
        knn,
    )


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1e3, q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--profile", default=None, help="slot to profile with cProfile instead")
    args = parser.parse_args()
    from django.conf import settings

    settings.RECOMMENDATIONS_ALS_ITERATIONS = 3  # serving cost does not depend on training quality
    started = time.perf_counter()
    log, user_index, item_index = synthetic(args.users, args.items, args.events)
    parts, _matrix, knn = build_parts(log, user_index, item_index)
    print(f"built parts in {time.perf_counter() - started:.1f}s ({args.items} items, {args.events} events)")

    storage.active_version_id = lambda kind="main": 1  # type: ignore[assignment]
    storage.load_parts = lambda version_id, names=None, prefix=None, using=None: parts  # type: ignore[assignment]
    bundle = bundles.current()
    assert bundle is not None
    ids = bundle.ids
    cache = runtime.product_cache()
    far = time.monotonic() + 1e9
    cache._data.update({pid: (far, ProductInfo(pid, ("c0",), None, 10.0, True)) for pid in ids})

    rng = np.random.default_rng(7)
    visitor = uuid.uuid4()
    now = datetime.now(tz=UTC)
    rows = [
        EventRow(
            event_id=uuid.uuid4(),
            kind="view",
            created_at=now,
            source="import",
            visitor_id=visitor,
            product_id=ids[int(i)],
            categories=("c0",),
        )
        for i in rng.choice(len(ids) // 10, 50, replace=False)
    ]
    runtime.live_store().apply(rows)
    ref = Subject(None, visitor)
    product = ids[5]
    history = np.zeros((1, len(ids)), dtype=np.float32)
    history[0, [bundle.index[r.product_id] for r in rows]] = 1.0
    engine = ItemKNN(k=50)
    engine.similarity = knn
    baseline = []
    for _ in range(args.calls):
        t = time.perf_counter()
        engine.score(history)
        baseline.append(time.perf_counter() - t)
    base_p50 = percentile_ms(baseline, 50)
    print(
        f"baseline ItemKNN.score (50-item row): p50 {base_p50:.3f} ms p99 {percentile_ms(baseline, 99):.3f} ms"
    )
    if args.profile:
        import cProfile
        import pstats

        context = {"product": product, "query": "product 12"}
        with cProfile.Profile() as profiler:
            for _ in range(200):
                recommend(ref, args.profile, context)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        return
    print("| slot | p50 ms | p99 ms | p50 / baseline p50 |")
    print("|---|---|---|---|")
    for slot in ("for_you", "similar", "bought_together", "cart", "trending", "recently_viewed", "search"):
        context = {"product": product, "query": "product 12"}
        for _ in range(20):
            recommend(ref, slot, context)
        samples = []
        for _ in range(args.calls):
            t = time.perf_counter()
            recommend(ref, slot, context)
            samples.append(time.perf_counter() - t)
        p50, p99 = percentile_ms(samples, 50), percentile_ms(samples, 99)
        print(f"| {slot} | {p50:.2f} | {p99:.2f} | {p50 / base_p50:.1f}x |")


if __name__ == "__main__":
    main()
