"""Evaluation protocols: turn a dataset into training events and test cases.

* ``next-item``: every position of every test session is predicted from the clicks before it
  (session-rec "next" evaluation; the session is a live anonymous visitor, nothing is excluded).
  Uses the dataset's fixed train/test split.
* ``temporal``: events before a cut-off time train; sessions that start after it are evaluated as
  ``next-item`` (the last ``test_days`` days, default 7, or the last 20 % of the time range when
  the data spans fewer than 14 days).
* ``leave-last-out``: each user's last item is the target, everything before trains (full
  ranking, the user's training items are excluded); ``validation=True`` holds out the
  second-to-last item instead and drops the last.
* ``holdout``: a random ``fraction`` of each actor's distinct items (seeded) is the target set;
  an actor is a user where one is known, else the session (the session's remaining clicks train).

Targets whose item never occurs in training are dropped, as in session-rec and SR-GNN: no
collaborative model can rank an item it has never seen.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .datasets import Dataset
from .events import RawEvents

PROTOCOLS = ("next-item", "temporal", "leave-last-out", "holdout")


@dataclass(frozen=True)
class Case:
    """One prediction: ``context`` events (oldest first) -> ``relevant`` items."""

    items: tuple[str, ...]
    timestamps: tuple[float, ...]
    kinds: tuple[str, ...]
    relevant: tuple[str, ...]
    user: str = ""  # non-empty: a known training user (its training items are excluded)
    session: str = ""  # non-empty (and no user): a session known in training, treated likewise
    at: float | None = None  # when the user comes back (the target's time), where the protocol knows


@dataclass(frozen=True)
class Task:
    name: str
    train: RawEvents
    cases: list[Case]


def _groups(keys: np.ndarray, timestamps: np.ndarray) -> list[np.ndarray]:
    """Row indices per key, each in time order (stable), keys in first-seen time order."""
    order = np.lexsort((np.arange(len(keys)), timestamps))
    groups: dict[str, list[int]] = defaultdict(list)
    for i in order.tolist():
        if keys[i]:
            groups[keys[i]].append(i)
    return [np.asarray(v, dtype=np.int64) for v in groups.values()]


def session_cases(test: RawEvents, known_items: set[str]) -> list[Case]:
    cases = []
    for rows in _groups(test.sessions, test.timestamps):
        items, times, kinds = test.items[rows], test.timestamps[rows], test.kinds[rows]
        cases.extend(
            Case(tuple(items[:p]), tuple(times[:p]), tuple(kinds[:p]), (items[p],))
            for p in range(1, len(rows))
            if items[p] in known_items
        )
    return cases


def next_item(dataset: Dataset, validation: bool = False) -> Task:
    if validation:
        if dataset.validation is None:
            raise ValueError(f"{dataset.name} ships no validation split")
        train, test = dataset.validation
    else:
        if dataset.train is None or dataset.test is None:
            return temporal(dataset, validation=False)
        train, test = dataset.train, dataset.test
    return Task("next-item", train, session_cases(test, set(train.items.tolist())))


def _cutoff(timestamps: np.ndarray, test_days: float | None) -> float:
    lo, hi = float(timestamps.min()), float(timestamps.max())
    if test_days is None:
        test_days = 7.0 if hi - lo > 14 * 86400 else (hi - lo) * 0.2 / 86400
    return hi - test_days * 86400


def temporal(dataset: Dataset, test_days: float | None = None, validation: bool = False) -> Task:
    """Sessions starting after the cut-off are test; with ``validation`` the cut moves back once."""
    events = dataset.events
    cut = _cutoff(events.timestamps, test_days)
    if validation:
        events = events.take(np.flatnonzero(events.timestamps < cut))
        cut = _cutoff(events.timestamps, test_days)
    keys = np.where(events.sessions != "", events.sessions, events.users)
    first: dict[str, float] = {}
    for key, ts in zip(keys.tolist(), events.timestamps.tolist(), strict=True):
        first[key] = min(ts, first.get(key, ts))
    is_test = np.array([first[k] >= cut for k in keys.tolist()], dtype=bool)
    train = events.take(np.flatnonzero(~is_test))
    test = events.take(np.flatnonzero(is_test))
    test = RawEvents(test.users, keys[is_test], test.items, test.kinds, test.timestamps)
    return Task("temporal", train, session_cases(test, set(train.items.tolist())))


def leave_last_out(dataset: Dataset, validation: bool = False) -> Task:
    events = dataset.events
    train_rows, cases = [], []
    for rows in _groups(events.users, events.timestamps):
        rows = rows[:-1] if validation else rows
        if len(rows) < 2:
            train_rows.append(rows)
            continue
        context, target = rows[:-1], rows[-1]
        train_rows.append(context)
        cases.append(
            Case(
                tuple(events.items[context]),
                tuple(events.timestamps[context]),
                tuple(events.kinds[context]),
                (events.items[target],),
                user=events.users[target],
                at=float(events.timestamps[target]),
            )
        )
    train = (
        events.take(np.concatenate(train_rows)) if train_rows else events.take(np.empty(0, dtype=np.int64))
    )
    known = set(train.items.tolist())
    return Task("leave-last-out", train, [c for c in cases if c.relevant[0] in known])


def holdout(dataset: Dataset, fraction: float = 0.2, seed: int = 0, validation: bool = False) -> Task:
    events = dataset.events
    rng = np.random.default_rng(seed + (1 if validation else 0))
    train_rows, held = [], []
    # actor = the user where one is known, else the session (anonymous visits in mixed data count too)
    actors = np.array(
        [
            f"u:{u}" if u else f"s:{s}"
            for u, s in zip(events.users.tolist(), events.sessions.tolist(), strict=True)
        ],
        dtype=object,
    )
    for rows in _groups(actors, events.timestamps):
        distinct = list(dict.fromkeys(events.items[rows].tolist()))
        n_test = round(len(distinct) * fraction)
        if len(distinct) < 2 or n_test == 0:
            train_rows.append(rows)
            continue
        chosen = set(rng.choice(np.array(distinct, dtype=object), size=n_test, replace=False).tolist())
        is_test = np.array([events.items[r] in chosen for r in rows.tolist()], dtype=bool)
        train_rows.append(rows[~is_test])
        held.append((rows[~is_test], tuple(sorted(chosen))))
    train = events.take(np.concatenate(train_rows))
    known = set(train.items.tolist())
    cases = []
    for context, relevant in held:
        relevant = tuple(i for i in relevant if i in known)
        if relevant:
            cases.append(
                Case(
                    tuple(events.items[context]),
                    tuple(events.timestamps[context]),
                    tuple(events.kinds[context]),
                    relevant,
                    user=events.users[context[0]],
                    session="" if events.users[context[0]] else events.sessions[context[0]],
                )
            )
    return Task("holdout", train, cases)


def make_task(dataset: Dataset, protocol: str | None = None, validation: bool = False) -> Task:
    protocol = protocol or dataset.default_protocol
    if protocol == "next-item":
        return next_item(dataset, validation)
    if protocol == "temporal":
        return temporal(dataset, validation=validation)
    if protocol == "leave-last-out":
        return leave_last_out(dataset, validation)
    if protocol == "holdout":
        return holdout(dataset, validation=validation)
    raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
