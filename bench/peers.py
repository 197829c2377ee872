"""Ours against tuned peers (irspack 0.5.2) on the very same split, in one process.

    nice -n 19 .venv/bin/python bench/peers.py --dataset diginetica --protocol holdout \
        --data-dir ../shared/data --trials 30 --timeout 900 --json /tmp/peers-diginetica-holdout.json

    .venv/bin/python bench/peers.py --summary /tmp/peers-*.json   # all runs in two tables

``pip install -e '.[bench]'`` (irspack, a benchmark-only dependency) first.

Protocols (``recommendations/offline/protocols.py``):

* ``holdout``: a random 20 % of each user's distinct items (each session's when the data has no
  users), seed 0; the rest trains; a user's training items are excluded from the ranking.
* ``last``: the dataset's time protocol: amazon-beauty leave-last-out (each user's last item);
  yoochoose the next click at every position of the test day's sessions; diginetica the same for
  the sessions of the last 7 days (new visitors: nothing is excluded).

Ours run through :func:`recommendations.offline.runner.evaluate`, exactly as
``manage.py recommendations_offline evaluate`` runs them (``auto`` fits, validates on its own
split, chooses, then recommends). Each peer is tuned by irspack's ``tune`` (optuna TPE, seed 0,
``--trials`` trials or ``--timeout`` seconds, whichever ends first) for NDCG@10 on a validation
split cut from the TRAINING events by the same protocol (never from test), refitted with the best
parameters on the whole training matrix (the same actor x item matrix ours see), then scored on
the same test cases with the same metric code, exclusions and tie-break (item index) as ours.
Known actors are scored warm (their training row), new visitors folded in from their clicks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("IRSPACK_NUM_THREADS_DEFAULT", "2")

from recommendations.engine.base import top_k
from recommendations.engine.metrics import MetricAccumulator
from recommendations.offline.datasets import Dataset, load_dataset
from recommendations.offline.events import DEFAULT_EVENT_WEIGHTS
from recommendations.offline.prepare import Encoded, encode
from recommendations.offline.protocols import Task, holdout, leave_last_out, make_task, temporal
from recommendations.offline.runner import evaluate

OURS = [
    "auto", "hybrid", "popularity", "itemknn", "userknn", "als", "ials", "rp3beta", "ease",
    "sknn", "stan", "transitions", "sequential_rules",
]  # fmt: skip
PEERS = ["RP3beta", "IALS", "DenseSLIM", "EDLAE", "item-kNN", "user-kNN"]
K = 10


def _user_knn() -> Any:
    """irspack's cosine user-kNN plus the fold-in it lacks for new visitors (``get_score_cold_user``
    raises NotImplementedError): the visitor's neighbours by the very similarity computer (weighting,
    shrinkage, top-k) the model built for its training users."""
    import irspack

    class FoldInCosineUserKNN(irspack.CosineUserKNNRecommender):
        def _create_computer(self, X: Any) -> Any:
            self.computer_ = super()._create_computer(X)
            return self.computer_

        def get_score_cold_user(self, X: Any) -> np.ndarray:
            neighbours = self.computer_.compute_similarity(sp.csr_matrix(X, dtype=np.float64), self.top_k)
            return np.asarray(neighbours.dot(self._X_csc).toarray())

    return FoldInCosineUserKNN


def peer_class(name: str) -> tuple[Any, dict[str, Any]]:
    """The irspack recommender and its fixed (not tuned) arguments."""
    import irspack

    return {
        "RP3beta": (irspack.RP3betaRecommender, {}),
        "IALS": (irspack.IALSRecommender, {"solver_type": "IALSPP"}),  # iALS++ (Rendle et al.)
        "DenseSLIM": (irspack.DenseSLIMRecommender, {}),
        "EDLAE": (irspack.EDLAERecommender, {}),
        "item-kNN": (irspack.CosineKNNRecommender, {}),
        "user-kNN": (_user_knn(), {}),
    }[name]


def tasks(dataset: Dataset, protocol: str, seed: int) -> tuple[Task, Task]:
    """The test task and, cut from its training events only, the tuning task of the same shape."""
    if protocol == "holdout":
        task = holdout(dataset, seed=seed)
        return task, holdout(_inner(dataset, task), seed=seed + 1)
    task = make_task(dataset)
    if task.name == "leave-last-out":
        return task, leave_last_out(_inner(dataset, task))
    return task, temporal(_inner(dataset, task))  # the last stretch of training sessions, next click


def _inner(dataset: Dataset, task: Task) -> Dataset:
    return Dataset(dataset.name, task.train, default_protocol=dataset.default_protocol)


def cases(enc: Encoded, task: Task, limit: int | None, seed: int) -> tuple[list, list[np.ndarray]]:
    """Encoded queries and target item arrays, as :func:`runner.evaluate` builds them."""
    chosen = task.cases
    if limit and len(chosen) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(chosen), limit, replace=False))
        chosen = [chosen[i] for i in keep.tolist()]
    queries, relevant = [], []
    for case in chosen:
        query = enc.query(case.items, case.timestamps, case.kinds, case.user, case.session)
        targets = enc.items.lookup(list(case.relevant))
        targets = targets[targets >= 0]
        if len(targets):
            queries.append(query)
            relevant.append(targets)
    return queries, relevant


def _rows(values: list[np.ndarray], n_items: int) -> sp.csr_matrix:
    indptr = np.cumsum([0] + [len(v) for v in values])
    data = np.concatenate(values) if values else np.empty(0, dtype=np.int64)
    return sp.csr_matrix((np.ones(len(data)), data, indptr), shape=(len(values), n_items))


def evaluator(enc: Encoded, queries: list, relevant: list[np.ndarray]) -> Any:
    """irspack's evaluator for the tuning split: warm rows when every query is a known actor."""
    import irspack

    n_items = enc.train.matrix.shape[1]
    threads = int(os.environ["IRSPACK_NUM_THREADS_DEFAULT"])
    if all(q.row >= 0 for q in queries):
        gt = sp.lil_matrix(enc.train.matrix.shape)
        for q, targets in zip(queries, relevant, strict=True):
            gt[q.row, targets] = 1
        return irspack.Evaluator(sp.csr_matrix(gt), cutoff=K, target_metric="ndcg", n_threads=threads)
    history = sp.vstack([q.history(enc.train) for q in queries], format="csr")
    seen = _rows([enc.seen_items(q.row) for q in queries], n_items)
    return irspack.EvaluatorWithColdUser(
        history, _rows(relevant, n_items), cutoff=K, target_metric="ndcg",
        masked_interactions=seen, n_threads=threads,
    )  # fmt: skip


def score_peer(model: Any, enc: Encoded, queries: list, relevant: list[np.ndarray]) -> dict[str, float]:
    acc = MetricAccumulator(K, enc.train.matrix.shape[1])
    for start in range(0, len(queries), 512):
        chunk = list(range(start, min(start + 512, len(queries))))
        warm = [i for i in chunk if queries[i].row >= 0]
        cold = [i for i in chunk if queries[i].row < 0]
        scores: dict[int, np.ndarray] = {}
        if warm:
            block = model.get_score(np.array([queries[i].row for i in warm], dtype=np.int64))
            scores.update(zip(warm, np.asarray(block), strict=True))
        if cold:
            history = sp.vstack([queries[i].history(enc.train) for i in cold], format="csr")
            scores.update(zip(cold, np.asarray(model.get_score_cold_user(history)), strict=True))
        for i in chunk:
            items = top_k(scores[i], K, enc.seen_items(queries[i].row))
            acc.add(items, relevant[i].tolist())
    return acc.result()


def run_peer(name: str, data: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    cls, fixed = peer_class(name)
    start = time.perf_counter()
    best, history = cls.tune(
        data["val_matrix"], data["val_evaluator"], n_trials=args.trials, timeout=args.timeout,
        tuning_random_seed=args.seed, **fixed,
    )  # fmt: skip
    tune_s = time.perf_counter() - start
    start = time.perf_counter()
    model = cls(data["matrix"], **{**best, **fixed}).learn()
    fit_s = time.perf_counter() - start
    metrics = score_peer(model, data["enc"], data["queries"], data["relevant"])
    return {
        "name": name, "NDCG": metrics[f"NDCG@{K}"], "HR": metrics[f"HR@{K}"], "n": metrics["n"],
        "trials": len(history), "tune_s": round(tune_s, 1), "fit_s": round(fit_s, 1),
        "params": {k: (v if isinstance(v, str | bool | int) else float(v)) for k, v in best.items()},
    }  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['dataset']} / {result['protocol']} ({result['task']}): {result['n_cases']} test cases, "
        f"{result['n_val_cases']} tuning cases",
        "",
        "| model | NDCG@10 | HR@10 | trials | tune s | fit s | parameters |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['name']} | {r['NDCG']:.4f} | {r['HR']:.4f} | | | {r['fit_s']:.1f} | |" for r in result["ours"]
    ]
    for row in result["peers"]:
        if "error" in row:
            lines.append(f"| irspack {row['name']} | - | - | | | | {row['error']} |")
            continue
        params = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["params"].items()
        )
        lines.append(
            f"| irspack {row['name']} | {row['NDCG']:.4f} | {row['HR']:.4f} | {row['trials']} | "
            f"{row['tune_s']:.0f} | {row['fit_s']:.1f} | {params} |"
        )
    if result.get("auto"):
        lines += ["", "```", result["auto"], "```"]
    return "\n".join(lines)


def summary(paths: list[str]) -> str:
    """NDCG@10 and HR@10 of every run in one table per metric (runs of one dataset and protocol are
    merged, so a peer re-run alone replaces its row)."""
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    for path in paths:
        result = json.loads(Path(path).read_text())
        run = runs.setdefault((result["dataset"], result["protocol"]), {"n": result["n_cases"], "rows": {}})
        run["rows"].update({r["name"]: r for r in result["ours"]})
        run["rows"].update({f"irspack {r['name']}": r for r in result["peers"]})
    out = []
    for metric in ("NDCG", "HR"):
        head = ["auto (default)", "best single of ours", "popularity", *(f"irspack {p}" for p in PEERS)]
        out += [f"| {metric}@10 | n | " + " | ".join(head) + " |", "|---" * (len(head) + 2) + "|"]
        for (dataset, protocol), run in runs.items():
            rows = run["rows"]
            singles = [
                r for n, r in rows.items() if n not in {"auto", "hybrid"} and "NDCG" in r and " " not in n
            ]
            top = max(singles, key=lambda r: r["NDCG"]) if singles else None
            cells = [
                _cell(rows.get("auto"), metric),
                f"{_cell(top, metric)} ({top['name']})" if top else "-",
                _cell(rows.get("popularity"), metric),
                *(_cell(rows.get(f"irspack {p}"), metric, trials=True) for p in PEERS),
            ]
            out.append(f"| {dataset} / {protocol} | {run['n']} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def _cell(row: dict[str, Any] | None, metric: str, trials: bool = False) -> str:
    if not row or metric not in row:
        return "-"
    return f"{row[metric]:.4f}" + (f" ({row['trials']})" if trials and metric == "NDCG" else "")


def _commit() -> str:
    """The code's commit (and "+changes" when the tree differs from it)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True)  # fmt: skip
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def main() -> None:
    if sys.argv[1:2] == ["--summary"]:
        print(summary(sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--protocol", choices=["holdout", "last"], required=True)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--timeout", type=int, default=900, help="seconds of tuning per peer at most")
    parser.add_argument("--max-val-cases", type=int, default=5000, help="tuning cases sampled (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ours", nargs="*", default=OURS)
    parser.add_argument("--peers", nargs="*", default=PEERS)
    parser.add_argument("--max-ease-items", type=int, default=5000, help="skip our dense EASE above this")
    parser.add_argument("--json", help="write the result here as well")
    args = parser.parse_args()

    dataset = load_dataset(args.dataset, args.data_dir)
    task, val_task = tasks(dataset, args.protocol, args.seed)
    enc = encode(task.train, DEFAULT_EVENT_WEIGHTS)
    queries, relevant = cases(enc, task, None, args.seed)
    ours = [n for n in args.ours if n != "ease" or enc.train.matrix.shape[1] <= args.max_ease_items]
    result: dict[str, Any] = {
        "dataset": args.dataset, "protocol": args.protocol, "task": task.name, "n_cases": len(queries),
        "command": " ".join(["bench/peers.py", *sys.argv[1:]]), "machine": f"{platform.node()} "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "ours": [], "peers": [], "auto": "",
        "commit": _commit(),
    }  # fmt: skip
    print(
        f"{args.dataset}/{task.name}: {enc.train.matrix.shape} train matrix, {len(queries)} cases", flush=True
    )
    for row in evaluate(task, ours, k=K, progress=False) if ours else []:
        result["ours"].append(
            {"name": row.algorithm, "NDCG": row.metrics[f"NDCG@{K}"], "HR": row.metrics[f"HR@{K}"],
             "fit_s": row.fit_seconds}
        )  # fmt: skip
        if row.algorithm == "auto":
            result["auto"] = row.note
        print(
            f"ours {row.algorithm}: NDCG@10 {row.metrics[f'NDCG@{K}']:.4f} ({row.fit_seconds:.0f}s)",
            flush=True,
        )

    val_enc = encode(val_task.train, DEFAULT_EVENT_WEIGHTS)
    val_queries, val_relevant = cases(val_enc, val_task, args.max_val_cases, args.seed)
    result["n_val_cases"] = len(val_queries)
    data = {
        "matrix": sp.csr_matrix(enc.train.matrix, dtype=np.float64), "enc": enc, "queries": queries,
        "relevant": relevant, "val_matrix": sp.csr_matrix(val_enc.train.matrix, dtype=np.float64),
        "val_evaluator": evaluator(val_enc, val_queries, val_relevant),
    }  # fmt: skip
    for name in args.peers:
        try:
            row = run_peer(name, data, args)
        except (MemoryError, ValueError, RuntimeError) as exc:  # reported in the table, not hidden
            row = {"name": name, "error": f"{type(exc).__name__}: {exc}"}
        result["peers"].append(row)
        print(f"peer {name}: {row}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(markdown(result))


if __name__ == "__main__":
    main()
