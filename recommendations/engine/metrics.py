"""Top-k ranking metrics for offline evaluation.

Per-list metrics take ``recommended`` (item indices, best first) and ``relevant`` (the held-out
items); ``k`` truncates the list. Averages over many lists are the caller's job (see
:class:`MetricAccumulator`). Conventions, stated because papers differ:

* ``hit_rate`` is 1 if any relevant item is in the top k. With one held-out item (next-click,
  leave-last-out) it equals Recall@k, and what SR-GNN papers call "P@20".
* ``precision`` divides hits by ``k`` (not by the list length).
* ``recall`` divides hits by ``|relevant|`` (the classic definition, not ``min(k, |relevant|)``).
* ``ndcg`` uses binary gains, ``log2(rank + 1)`` discounts and the ideal DCG of
  ``min(k, |relevant|)`` hits.
* ``mrr`` is the reciprocal rank of the first relevant item within the top k (0 if none).
* ``coverage`` is the share of the catalogue that appears in at least one list.
* ``novelty`` is the mean self-information ``-log2(p(i))`` of recommended items, where ``p(i)``
  is the share of training users/sessions that interacted with ``i``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

METRIC_NAMES = ("HR", "Recall", "Precision", "NDCG", "MRR")


def _hits(recommended: np.ndarray, relevant: Iterable[int], k: int) -> np.ndarray:
    top = np.asarray(recommended, dtype=np.int64)[:k]
    rel = np.fromiter(relevant, dtype=np.int64)
    return np.isin(top, rel)


def hit_rate(recommended: np.ndarray, relevant: Iterable[int], k: int) -> float:
    return float(_hits(recommended, relevant, k).any())


def precision(recommended: np.ndarray, relevant: Iterable[int], k: int) -> float:
    return float(_hits(recommended, relevant, k).sum()) / k if k > 0 else 0.0


def recall(recommended: np.ndarray, relevant: Iterable[int], k: int) -> float:
    rel = {int(i) for i in relevant}
    if not rel:
        return 0.0
    return float(_hits(recommended, rel, k).sum()) / len(rel)


def ndcg(recommended: np.ndarray, relevant: Iterable[int], k: int) -> float:
    rel = {int(i) for i in relevant}
    if not rel or k <= 0:
        return 0.0
    hits = _hits(recommended, rel, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(discounts[: len(hits)][hits].sum())
    ideal = float(discounts[: min(k, len(rel))].sum())
    return dcg / ideal


def mrr(recommended: np.ndarray, relevant: Iterable[int], k: int) -> float:
    hits = np.flatnonzero(_hits(recommended, relevant, k))
    return 1.0 / (hits[0] + 1) if len(hits) else 0.0


def coverage(recommendation_lists: Iterable[np.ndarray], n_items: int) -> float:
    """Share of the ``n_items`` catalogue recommended at least once."""
    seen = np.zeros(n_items, dtype=bool)
    for rec in recommendation_lists:
        seen[np.asarray(rec, dtype=np.int64)] = True
    return float(seen.mean()) if n_items else 0.0


def self_information(item_counts: np.ndarray, n_contexts: int) -> np.ndarray:
    """``-log2(p(i))`` per item; unseen items get the information of one interaction."""
    p = np.maximum(np.asarray(item_counts, dtype=np.float64), 1.0) / max(n_contexts, 1)
    return -np.log2(np.minimum(p, 1.0))


def novelty(recommendation_lists: Iterable[np.ndarray], info: np.ndarray) -> float:
    """Mean self-information of all recommended items (``info`` from :func:`self_information`)."""
    values = [info[np.asarray(rec, dtype=np.int64)] for rec in recommendation_lists if len(rec)]
    return float(np.concatenate(values).mean()) if values else 0.0


class MetricAccumulator:
    """Running means of the per-list metrics plus coverage and novelty at a single ``k``."""

    def __init__(self, k: int, n_items: int, info: np.ndarray | None = None) -> None:
        self.k, self.n_items, self.info = k, n_items, info
        self.sums = dict.fromkeys(METRIC_NAMES, 0.0)
        self.count = 0
        self._covered = np.zeros(n_items, dtype=bool)
        self._info_sum, self._info_n = 0.0, 0

    def add(self, recommended: np.ndarray, relevant: Iterable[int]) -> None:
        rec = np.asarray(recommended, dtype=np.int64)[: self.k]
        rel = [int(i) for i in relevant]
        self.sums["HR"] += hit_rate(rec, rel, self.k)
        self.sums["Recall"] += recall(rec, rel, self.k)
        self.sums["Precision"] += precision(rec, rel, self.k)
        self.sums["NDCG"] += ndcg(rec, rel, self.k)
        self.sums["MRR"] += mrr(rec, rel, self.k)
        self.count += 1
        self._covered[rec] = True
        if self.info is not None and len(rec):
            self._info_sum += float(self.info[rec].sum())
            self._info_n += len(rec)

    def result(self) -> dict[str, float]:
        """Mean of each metric over the lists added, plus ``Coverage``, ``Novelty`` and ``n``."""
        out = {f"{name}@{self.k}": (s / self.count if self.count else 0.0) for name, s in self.sums.items()}
        out["Coverage"] = float(self._covered.mean()) if self.n_items else 0.0
        out["Novelty"] = self._info_sum / self._info_n if self._info_n else 0.0
        out["n"] = float(self.count)
        return out
