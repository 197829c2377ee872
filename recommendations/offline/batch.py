"""Batch recommendations for listed users or for live visitor contexts, written as CSV.

Documented behaviour:

* ``--users``: a known user gets the algorithm's top ``k`` over items not already in their
  training events, except where the algorithm re-shows some of them itself (``auto``, when the
  holdout of the given events chose to: consumables due again, items browsed and not bought;
  purchased durables never). A user id absent from the training file (or whose events are all unknown)
  gets the global popularity ranking (the fallback). Lists are never padded with other
  algorithms' items, so a single algorithm may return fewer than ``k`` rows for a user.
* ``--context``: each ``session_id`` is a new anonymous visitor; its events are the query.
  Items the visitor purchased, or added to the cart and did not remove, are excluded; viewed
  items may be recommended again. A context with no known item gets popularity.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from .algorithms import DEFAULT_ALGORITHM, Scorer, build
from .events import DEFAULT_EVENT_WEIGHTS, RawEvents, read_events_csv
from .prepare import Encoded, encode

Row = tuple[str, int, str, float]


Report = Callable[[str], None]


def _fit(
    train: RawEvents, algorithm: str, weights: Mapping[str, float], report: Report | None = None
) -> tuple[Encoded, Scorer, Scorer]:
    scorer = build(algorithm)  # validates the name before any work
    enc = encode(train, weights)
    scorer.fit(enc.train)
    describe = getattr(scorer, "describe", None)
    if report is not None and describe is not None:
        report(describe())  # ``auto``: what its own validation chose, and why
    fallback = scorer if algorithm == "popularity" else build("popularity").fit(enc.train)
    return enc, scorer, fallback


def _rows(key: str, enc: Encoded, items: np.ndarray, scores: np.ndarray) -> Iterator[Row]:
    for rank, (item, score) in enumerate(zip(items.tolist(), scores.tolist(), strict=True), start=1):
        yield key, rank, str(enc.items.ids[item]), float(score)


def recommend_users(
    train: RawEvents,
    users: Sequence[str],
    k: int,
    algorithm: str = DEFAULT_ALGORITHM,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    report: Report | None = None,
) -> list[Row]:
    """``(user_id, rank, item_id, score)`` rows; see the module docstring for the rules."""
    enc, scorer, fallback = _fit(train, algorithm, weights, report)
    by_user: dict[str, list[int]] = defaultdict(list)
    for i, user in enumerate(train.users.tolist()):
        if user:
            by_user[user].append(i)
    rows: list[Row] = []
    for user in users:
        idx = np.asarray(by_user.get(user, []), dtype=np.int64)
        idx = idx[np.argsort(train.timestamps[idx], kind="stable")]
        query = enc.query(train.items[idx], train.timestamps[idx], train.kinds[idx], user)
        model = scorer if query.row >= 0 and len(query.items) else fallback
        exclude = enc.seen_items(query.row) if model.excludes_seen(query) else None
        items, scores = model.recommend(query, k, exclude)
        rows.extend(_rows(user, enc, items, scores))
    return rows


def _cart_and_purchased(items: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    in_cart: dict[int, bool] = {}
    bought: set[int] = set()
    for item, kind in zip(items.tolist(), kinds.tolist(), strict=True):
        if kind == "add_to_cart":
            in_cart[item] = True
        elif kind == "remove_from_cart":
            in_cart[item] = False
        elif kind == "purchase":
            bought.add(item)
    return np.array(sorted(bought | {i for i, c in in_cart.items() if c}), dtype=np.int64)


def recommend_contexts(
    train: RawEvents,
    contexts: RawEvents,
    k: int,
    algorithm: str = DEFAULT_ALGORITHM,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    report: Report | None = None,
) -> list[Row]:
    """``(session_id, rank, item_id, score)`` rows, sessions in first-appearance order."""
    enc, scorer, fallback = _fit(train, algorithm, weights, report)
    by_session: dict[str, list[int]] = defaultdict(list)
    for i, session in enumerate(contexts.sessions.tolist()):
        by_session[session].append(i)
    rows: list[Row] = []
    for session, positions in by_session.items():
        idx = np.asarray(positions, dtype=np.int64)
        idx = idx[np.argsort(contexts.timestamps[idx], kind="stable")]
        query = enc.query(contexts.items[idx], contexts.timestamps[idx], contexts.kinds[idx])
        known = enc.items.lookup(list(contexts.items[idx]))
        exclude = _cart_and_purchased(known[known >= 0], contexts.kinds[idx][known >= 0])
        model = scorer if len(query.items) else fallback
        items, scores = model.recommend(query, k, exclude)
        if not len(items) and model is not fallback:
            items, scores = fallback.recommend(query, k, exclude)
        rows.extend(_rows(session, enc, items, scores))
    return rows


def read_contexts(path: str | Path, weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS) -> RawEvents:
    return read_events_csv(
        path, weights, required=("session_id", "item_id", "event", "timestamp"), id_columns=("session_id",)
    )


def write_rows(path: str | Path, key: str, rows: Sequence[Row]) -> None:
    """Write ``<key>,rank,item_id,score``; scores keep 6 significant digits."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([key, "rank", "item_id", "score"])
        for owner, rank, item, score in rows:
            writer.writerow([owner, rank, item, f"{score:.6g}"])
