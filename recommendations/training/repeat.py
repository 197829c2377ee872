"""What the rebuild learns about items shoppers already touched: the repeat-purchase model and
each shopper's own purchases and browsing, stored with the model version.

* :func:`repeat_part`: :class:`~recommendations.engine.repeat.RepeatModel` fitted on the shop's
  own purchase events (per item and category: is it bought again, after how long);
* :func:`shopper_arrays`: per shopper (a row of the ``users`` part, so erasure redacts it with
  the rest of the row) their last purchases (item, time) and their last views, clicks and cart
  changes (item, kind, time), what ``buy_again`` and ``browsed_not_bought`` read at serving time,
  and how often their visits came back to an item (``comebacks_*``, one entry per shopper).

Rows are stored CSR-shaped (``<prefix>indptr``, ``<prefix>indices``, ``<prefix>data`` = unix
seconds, ``<prefix>shape``) but entries repeat: one per event, oldest first within a row.
"""

from __future__ import annotations

import numpy as np

from recommendations.engine.comebacks import comeback_counts
from recommendations.engine.repeat import RepeatModel
from recommendations.engine.reshow import DEFAULT_INTENT
from recommendations.training.eventlog import TrainingLog

Arrays = dict[str, np.ndarray]
#: the browsing kinds kept per shopper, in code order (``browsed_kinds`` indexes this)
BROWSE_KINDS: tuple[str, ...] = tuple(DEFAULT_INTENT)
MAX_PURCHASES_PER_SHOPPER = 200
MAX_BROWSES_PER_SHOPPER = 100


def _purchases(data: TrainingLog) -> np.ndarray:
    log = data.log
    if "purchase" not in log.kind_names:
        return np.zeros(len(log.items), dtype=bool)
    return log.kinds == log.kind_names.index("purchase")


def repeat_part(data: TrainingLog, catalogue: Arrays) -> Arrays:
    """The repeat-purchase model of the shop's purchases, per item (catalogue order)."""
    log = data.log
    bought = _purchases(data)
    model = RepeatModel().fit(
        log.users[bought],
        log.items[bought],
        log.timestamps[bought],
        n_items=log.n_items,
        item_category=np.asarray(catalogue["category"], dtype=np.int64),
    )
    return model.to_arrays()


def _rows(users: np.ndarray, n_users: int, stamps: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Event positions grouped by user, oldest first, the newest ``limit`` of each; and indptr."""
    order = np.lexsort((np.arange(len(users)), stamps, users))
    u = users[order]
    starts = np.searchsorted(u, u, side="left")
    counts = np.bincount(u, minlength=n_users) if len(u) else np.zeros(n_users, np.int64)
    from_end = counts[u] - (np.arange(len(u)) - starts)
    kept = order[from_end <= limit]
    per_user = np.bincount(users[kept], minlength=n_users) if len(kept) else np.zeros(n_users, np.int64)
    return kept, np.r_[0, np.cumsum(per_user)].astype(np.int64)


def shopper_arrays(data: TrainingLog) -> Arrays:
    """Per shopper: ``bought_*`` (item, time) and ``browsed_*`` (item, kind, time) rows."""
    log = data.log
    n_users = log.n_users
    bought = np.flatnonzero(_purchases(data))
    rows, indptr = _rows(log.users[bought], n_users, log.timestamps[bought], MAX_PURCHASES_PER_SHOPPER)
    out: Arrays = {
        "bought_indptr": indptr,
        "bought_indices": log.items[bought[rows]].astype(np.int32),
        "bought_data": log.timestamps[bought[rows]].astype(np.float64),
        "bought_shape": np.asarray([n_users, log.n_items], dtype=np.int64),
    }
    codes = np.full(len(log.kind_names), -1, dtype=np.int16)
    for code, name in enumerate(BROWSE_KINDS):
        if name in log.kind_names:
            codes[log.kind_names.index(name)] = code
    kind_code = codes[log.kinds] if len(log.kinds) else np.empty(0, np.int16)
    browse = np.flatnonzero(kind_code >= 0)
    rows, indptr = _rows(log.users[browse], n_users, log.timestamps[browse], MAX_BROWSES_PER_SHOPPER)
    out.update(
        browsed_indptr=indptr,
        browsed_indices=log.items[browse[rows]].astype(np.int32),
        browsed_data=log.timestamps[browse[rows]].astype(np.float64),
        browsed_kinds=kind_code[browse[rows]].astype(np.int8),
        browsed_shape=np.asarray([n_users, log.n_items], dtype=np.int64),
        browse_kind_names=np.asarray(BROWSE_KINDS, dtype=str),
    )
    # one entry per shopper: their visits that came back to an item, and their visits after the
    # first (engine.comebacks), what scales their re-show weights where the holdout chose re-showing
    returns, chances = comeback_counts(log)
    out.update(
        comebacks_indptr=np.arange(n_users + 1, dtype=np.int64),
        comebacks_returns=returns.astype(np.int32),
        comebacks_chances=chances.astype(np.int32),
    )
    return out
