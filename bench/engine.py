"""Engine benchmark: our numpy/scipy models beside the ``implicit`` library, in the same process.

    .venv/bin/python bench/engine.py            # 50k users x 20k items x 1M events
    .venv/bin/python bench/engine.py --quick    # 5k x 2k x 100k, a smoke run

Data: a seeded synthetic shop. Item popularity is Zipf-like, user activity Pareto (a few very
heavy users), and each user prefers two of 40 topics (80% of their events) so that there is a
structure to recover. Events get kinds (view/cart/purchase/remove) and timestamps over 90 days;
the confidence matrix both libraries train on is our ``build_matrix`` (weighted, 14-day decay,
deduped). ``implicit`` (benchmark-only, never imported by the app) is run with the same
hyper-parameters; its ALS reads the value as confidence, so it gets ``1 + alpha * r`` like ours.

Reports: item-kNN fit, ALS fit and Recall@10 on a one-item-per-user held-out split, single-user
scoring latency (50 history items), and a full rebuild of every model with its peak memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommendations.engine._sparse import topk_per_row
from recommendations.engine.als import ALS
from recommendations.engine.base import EventLog, top_k
from recommendations.engine.bought_together import BoughtTogether
from recommendations.engine.content import ContentModel
from recommendations.engine.ease import EASE, choose_item_model
from recommendations.engine.interactions import build_matrix
from recommendations.engine.itemknn import ItemKNN
from recommendations.engine.popularity import Popularity, trending
from recommendations.engine.userknn import UserKNN

KINDS = ("cart", "purchase", "remove_from_cart", "view")
WEIGHTS = {"view": 1.0, "cart": 3.0, "purchase": 5.0, "remove_from_cart": -2.0}
DAY = 86_400.0


def synthetic_log(n_users: int, n_items: int, n_events: int, n_topics: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    item_topic = rng.integers(0, n_topics, n_items)
    item_pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    rng.shuffle(item_pop)
    activity = rng.pareto(1.5, n_users) + 1.0
    users = rng.choice(n_users, n_events, p=activity / activity.sum())
    user_topics = rng.integers(0, n_topics, (n_users, 2))
    topic = user_topics[users, rng.integers(0, 2, n_events)]
    order = np.lexsort((np.arange(n_items), item_topic))
    cum = np.cumsum(item_pop[order])
    starts = np.searchsorted(item_topic[order], np.arange(n_topics))
    ends = np.searchsorted(item_topic[order], np.arange(n_topics), side="right")
    base = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    total = cum[np.maximum(ends - 1, 0)] - base
    pick = base[topic] + rng.random(n_events) * total[topic]
    in_topic = order[np.minimum(np.searchsorted(cum, pick), n_items - 1)]
    anywhere = rng.choice(n_items, n_events, p=item_pop / item_pop.sum())
    items = np.where(rng.random(n_events) < 0.8, in_topic, anywhere)
    kinds = rng.choice(len(KINDS), n_events, p=[0.12, 0.05, 0.03, 0.80]).astype(np.int16)
    stamps = np.sort(rng.uniform(0, 90 * DAY, n_events))
    log = EventLog(
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        kinds=kinds,
        timestamps=stamps,
        sessions=np.full(n_events, -1, dtype=np.int64),
        kind_names=KINDS,
        n_users=n_users,
        n_items=n_items,
    )
    return log, item_topic


def holdout(matrix: sp.csr_matrix, seed: int = 1, min_items: int = 3):
    """Hide one random item of every user with at least ``min_items``: (train, users, items)."""
    rng = np.random.default_rng(seed)
    lengths = np.diff(matrix.indptr)
    users = np.flatnonzero(lengths >= min_items)
    pos = matrix.indptr[users] + (rng.random(len(users)) * lengths[users]).astype(np.int64)
    held = matrix.indices[pos].astype(np.int64)
    train = matrix.copy()
    train.data[pos] = 0.0
    train.eliminate_zeros()
    return train, users, held


def recall_at_10(user_vecs, item_vecs, train, users, held) -> float:
    hits = 0
    for start in range(0, len(users), 1000):
        batch = users[start : start + 1000]
        scores = user_vecs[batch] @ item_vecs.T
        for row, u in enumerate(batch):
            best = top_k(scores[row], 10, exclude=train.indices[train.indptr[u] : train.indptr[u + 1]])
            hits += int(held[start + row] in best)
    return hits / len(users)


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def latency(model, histories: list[sp.csr_matrix]) -> tuple[float, float]:
    samples = []
    for row in histories:
        start = time.perf_counter()
        top_k(model.score(row)[0], 10, exclude=row.indices)
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def full_rebuild(log, item_topic, n_items, threads, als=None, itemknn=None):
    """Every model of the engine, from the raw log, as a nightly rebuild would do it. ``als``,
    ``itemknn``: fits served instead of fitting them (the rebuild with self-evaluation serves its
    iALS and item-kNN baselines; the steps then cost what recommendations.training.parts.als_part
    and selfeval.builtin_itemknn do with them: the gram, the top 50 of the baseline's 100)."""
    steps = {}
    rng = np.random.default_rng(3)

    def step(name, fn):
        start = time.perf_counter()
        out = fn()
        steps[name] = time.perf_counter() - start
        return out

    matrix = step(
        "build_matrix", lambda: build_matrix(log, WEIGHTS, half_life_days=14, max_events_per_user=500)
    )
    step(
        "popularity+trending",
        lambda: (Popularity().fit(matrix), trending(log, 24.0, item_topic, weights=WEIGHTS)),
    )
    if itemknn is None:
        step("itemknn", lambda: ItemKNN(k=50).fit(matrix))
    else:
        step("itemknn", lambda: topk_per_row(sp.csr_matrix(itemknn.similarity, dtype=np.float32), 50))
    step("userknn", lambda: UserKNN(k=50).fit(matrix))
    if als is None:
        step("als", lambda: ALS(factors=64, iterations=15, threads=threads).fit(matrix))
    else:
        y = als.item_factors
        step("als", lambda: (y.astype(np.float32), y.T @ y + als.regularization * np.eye(y.shape[1])))
    if choose_item_model(n_items) == "ease":
        step("ease", lambda: EASE(l2=200.0).fit(matrix))
    words = np.array([f"w{i}" for i in range(3000)])
    texts = [" ".join(words[rng.integers(0, 3000, 12)]) + f" topic{t}" for t in item_topic]
    cats = [["root", f"c{t % 8}", f"c{t % 8}/{t}"] for t in item_topic]
    brands = [f"b{b}" for b in rng.integers(0, 300, n_items)]
    prices = rng.lognormal(3, 1, n_items).tolist()
    step("content", lambda: ContentModel().fit(texts, cats, brands, prices))
    purchases = log.kinds == KINDS.index("purchase")
    baskets = sp.csr_matrix(
        (np.ones(purchases.sum()), (log.users[purchases], log.items[purchases])), shape=(log.n_users, n_items)
    )
    step("bought_together", lambda: BoughtTogether().fit(baskets))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5k users x 2k items x 100k events")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="item-kNN runs per library (median)")
    parser.add_argument(
        "--ease-sizes", default="2500,5000,10000", help="EASE fit time on the N most popular items"
    )
    args = parser.parse_args()
    n_users, n_items, n_events = (5_000, 2_000, 100_000) if args.quick else (50_000, 20_000, 1_000_000)

    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import CosineRecommender
    from threadpoolctl import threadpool_info, threadpool_limits

    log, item_topic = synthetic_log(n_users, n_items, n_events)
    matrix = build_matrix(log, WEIGHTS, half_life_days=14, max_events_per_user=500)
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()]
    print(f"# {n_users} users x {n_items} items, {n_events} events -> {matrix.nnz} non-zeros")
    print(f"# python {platform.python_version()}, cores {os.cpu_count()}, BLAS {blas}")
    print(f"# load average {os.getloadavg()}")
    print(f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r} threads={args.threads}")

    # item-kNN: interleave the libraries, median of ``repeat`` runs each
    ours_knn, theirs_knn = [], []
    for _ in range(args.repeat):
        ours_knn.append(timed(lambda: ItemKNN(k=50).fit(matrix))[0])
        theirs_knn.append(
            timed(lambda: CosineRecommender(K=50, num_threads=args.threads).fit(matrix, show_progress=False))[
                0
            ]
        )
    knn_ours, knn_theirs = statistics.median(ours_knn), statistics.median(theirs_knn)
    print(f"itemknn fit: ours {knn_ours:.3f}s implicit {knn_theirs:.3f}s ratio {knn_ours / knn_theirs:.2f}x")

    train, test_users, held = holdout(matrix)
    rng = np.random.default_rng(5)
    eval_users = np.sort(rng.choice(len(test_users), min(5000, len(test_users)), replace=False))
    als_ours_t, ours = timed(
        lambda: ALS(factors=64, iterations=15, regularization=0.01, threads=args.threads).fit(train)
    )
    confidence = train.copy()
    confidence.data = 1.0 + confidence.data
    theirs = AlternatingLeastSquares(
        factors=64, iterations=15, regularization=0.01, num_threads=args.threads, random_state=0
    )
    with threadpool_limits(1, "blas"):  # implicit's own advice for its CPU solver
        als_theirs_t, _ = timed(lambda: theirs.fit(confidence, show_progress=False))
    sel_users, sel_held = test_users[eval_users], held[eval_users]
    rec_ours = recall_at_10(ours.user_factors, ours.item_factors, train, sel_users, sel_held)
    rec_theirs = recall_at_10(
        np.asarray(theirs.user_factors), np.asarray(theirs.item_factors), train, sel_users, sel_held
    )
    print(
        f"als fit: ours {als_ours_t:.2f}s implicit {als_theirs_t:.2f}s ratio {als_ours_t / als_theirs_t:.2f}x; "
        f"recall@10 ours {rec_ours:.4f} implicit {rec_theirs:.4f} "
        f"(relative diff {(rec_ours - rec_theirs) / max(rec_theirs, 1e-12):+.1%}, {len(sel_users)} users)"
    )

    popularity = np.bincount(log.items, minlength=n_items).astype(np.float64) + 1
    histories = []
    for _ in range(200):
        items = np.unique(rng.choice(n_items, 60, replace=False, p=popularity / popularity.sum()))[:50]
        histories.append(
            sp.csr_matrix((np.ones(len(items)), (np.zeros(len(items), int), items)), shape=(1, n_items))
        )
    knn = ItemKNN(k=50).fit(matrix)
    uknn = UserKNN(k=50).fit(matrix)
    for name, model in (("itemknn", knn), ("als (fold-in)", ours), ("userknn", uknn)):
        p50, p99 = latency(model, histories)
        print(f"score 1 user x 50 items, {name}: p50 {p50:.2f} ms p99 {p99:.2f} ms")

    tracemalloc.start()
    start = time.perf_counter()
    steps = full_rebuild(log, item_topic, n_items, args.threads)
    total = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"full rebuild: {total:.1f}s; traced peak {peak / 2**30:.2f} GiB; process max RSS {rss / 1024:.2f} GiB"
    )
    print("  " + ", ".join(f"{k} {v:.2f}s" for k, v in steps.items()))
    # EASE time by catalogue size (the most popular N item columns of the same matrix); this is
    # the measurement behind ``choose_item_model``'s default cap
    popular = np.argsort(-np.bincount(matrix.indices, minlength=n_items), kind="stable")
    for size in (int(s) for s in args.ease_sizes.split(",") if s and int(s) <= n_items):
        columns = matrix[:, np.sort(popular[:size])]
        ease_t, _ = timed(lambda columns=columns: EASE(l2=200.0).fit(columns))
        print(f"ease fit on {size} items: {ease_t:.1f}s (choose_item_model -> {choose_item_model(size)})")
    print(f"# load average {os.getloadavg()}")
    print(f"# date: {subprocess.run(['date'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
