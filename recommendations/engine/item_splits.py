"""The self-evaluation's splits for the item-page ("similar") and cart contexts: sessions of the
newest part of the log, one distinct item (the page's product) or the cart but its last item as the
query (see :mod:`.validation` for the user and session splits and the ranking helpers)."""

from __future__ import annotations

import numpy as np

from .base import EventLog, unique
from .validation import Queries, Split, _by_user, _take


def session_item_splits(
    log: EventLog,
    newest_share: float = 0.2,
    max_queries: int = 2000,
    seed: int = 0,
    skip_users: set[int] | frozenset[int] = frozenset(),
    cart_kinds: tuple[str, ...] = ("add_to_cart", "cart", "purchase"),
    order: np.ndarray | None = None,
) -> tuple[Split, Split]:
    """The item-page and cart contexts, from sessions that start in the newest ``newest_share``
    (only the sessions that yield a query are held out; with :func:`session_split` on the same log,
    train on the log without both's sessions, :func:`without_sessions`).

    * ``"coview"`` (context ``"similar"``): one random distinct item of a session is the product
      on the page; the session's other distinct items are what "similar" should find.
    * ``"basket"`` (context ``"cart"``): a session's distinct carted/purchased items (``cart_kinds``)
      but the last added are the cart; the last added one is the target.

    The query item(s) are never ranked (as serving never recommends the page's own product).
    ``order``: ``by_user_order(log, log.sessions)``, when the caller has it."""
    rng = np.random.default_rng(seed)
    order, starts, stops = _by_user(log, log.sessions, order)
    keep = np.ones(len(log.items), dtype=bool)
    carted = np.isin(log.kinds, [i for i, n in enumerate(log.kind_names) if n in cart_kinds])
    out: dict[str, tuple[list, list, list]] = {"coview": ([], [], []), "basket": ([], [], [])}
    if len(order):
        lo, hi = float(log.timestamps.min()), float(log.timestamps.max())
        cut = hi - newest_share * (hi - lo)
        first = log.timestamps[order[starts]]
        candidates = np.flatnonzero((first >= cut) & (stops - starts >= 2))
        skip = np.isin(log.users, list(skip_users)) if skip_users else None
        for slot in rng.permutation(candidates).tolist():
            if min(len(out["coview"][2]), len(out["basket"][2])) >= max_queries:
                break
            rows = order[starts[slot] : stops[slot]]
            if skip is not None and skip[rows].any():
                continue
            used = False
            items = log.items[rows].astype(np.int64)
            distinct, at = np.unique(items, return_index=True)
            seqs, stamps, targets = out["coview"]
            if len(distinct) >= 2 and len(targets) < max_queries:
                anchor = int(rng.integers(0, len(distinct)))
                seqs.append(distinct[anchor : anchor + 1])
                stamps.append(log.timestamps[rows[at[anchor : anchor + 1]]].astype(np.float64))
                targets.append(np.delete(distinct, anchor))
                used = True
            cart_rows = rows[carted[rows]]
            cart_items = list(dict.fromkeys(log.items[cart_rows].astype(np.int64).tolist()))
            seqs, stamps, targets = out["basket"]
            if len(cart_items) >= 2 and len(targets) < max_queries:
                seqs.append(np.asarray(cart_items[:-1], np.int64))
                stamps.append(np.full(len(cart_items) - 1, float(log.timestamps[cart_rows[-1]])))
                targets.append(np.asarray(cart_items[-1:], np.int64))
                used = True
            if used:  # only the sessions queried are held out: the rest of the log trains
                keep[rows] = False
    train = _take(log, keep)
    held = unique(log.sessions[~keep])  # both splits hold out the same sessions
    splits = []
    for name, context in (("coview", "similar"), ("basket", "cart")):
        seqs, stamps, targets = out[name]
        queries = Queries(np.full(len(targets), -1, np.int64), seqs, stamps, targets, True)
        splits.append(Split(name, context, train, queries, held))
    return splits[0], splits[1]
