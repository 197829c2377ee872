"""How much a shopper comes back to items they touched: the personal part of re-showing them.

A shopper's events are cut into visits: the log's sessions where it has them (a rebuild's
training log cuts them after the shop's session gap), else a new visit after ``gap_seconds``
without an event. A visit *comes back* when it touches an item an earlier visit touched (a
consumable bought again, a product viewed last week and bought today). Re-clicking an item within
one visit does not count: that is the session's own business (the sequence models, "recently
viewed"), not a reason to put the item into the list of the shopper's next visit.

:class:`Comebacks` holds the shop's rate (visits that came back, of the visits after a shopper's
first) and scales each shopper's re-show weights by their own rate shrunk towards it with a small
prior (:meth:`Comebacks.factor`), capped at 1: a shopper with no later visit yet gets the shop's
weights, one who came back less than the shop's average less, one who had many visits and never
came back (almost) nothing. A shop where no visit ever came back (rate 0; also a log where no
shopper has a second visit) re-shows nothing to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import EventLog

#: without session ids, a new visit starts after this long without an event
VISIT_GAP_SECONDS = 30 * 60.0
#: the shop's rate counts as this many visits of a shopper's own evidence
PRIOR_VISITS = 2.0


def visits(
    users: np.ndarray,
    items: np.ndarray,
    timestamps: np.ndarray,
    sessions: np.ndarray | None = None,
    gap_seconds: float = VISIT_GAP_SECONDS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per user (the sorted unique ``users``): the visits that came back to an item an earlier
    visit touched, and the visits after their first (the chances to come back). ``sessions``:
    the events' session ids, -1 where unknown (then the time gap cuts visits)."""
    users = np.asarray(users, dtype=np.int64)
    if not len(users):
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    stamps = np.asarray(timestamps, np.float64)
    sess = np.full(len(users), -1, np.int64) if sessions is None else np.asarray(sessions, np.int64)
    order = np.lexsort((stamps, users))
    u, it, ts, se = users[order], np.asarray(items, np.int64)[order], stamps[order], sess[order]
    same_user = np.r_[False, u[1:] == u[:-1]]
    known = (se >= 0) & np.r_[False, se[:-1] >= 0]
    other_session = np.r_[False, se[1:] != se[:-1]]
    long_gap = np.r_[False, np.diff(ts) > gap_seconds]
    new_visit = ~same_user | np.where(known, other_session, long_gap)
    visit = np.cumsum(new_visit) - 1  # increasing within a user
    # the first visit that touched each (user, item): an event of a later visit comes back
    pair = np.lexsort((visit, it, u))
    first_of_pair = np.r_[True, (u[pair][1:] != u[pair][:-1]) | (it[pair][1:] != it[pair][:-1])]
    group_start = np.maximum.accumulate(np.where(first_of_pair, np.arange(len(u)), 0))
    first_visit = np.empty(len(u), np.int64)
    first_visit[pair] = visit[pair][group_start]
    came_back = np.zeros(int(visit[-1]) + 1, dtype=bool)
    came_back[visit[first_visit < visit]] = True
    ids = np.unique(u)
    slot = np.searchsorted(ids, u[new_visit])  # one entry per visit: its user's position
    returns = np.bincount(slot, weights=came_back, minlength=len(ids)).astype(np.int64)
    chances = np.bincount(slot, minlength=len(ids)).astype(np.int64) - 1
    return ids, returns, chances


@dataclass(frozen=True)
class Comebacks:
    """The shop's rate of visits that come back, the prior's strength (visits) and the cap."""

    rate: float
    prior: float = PRIOR_VISITS
    cap: float = 1.0

    @classmethod
    def of(
        cls,
        users: np.ndarray,
        items: np.ndarray,
        timestamps: np.ndarray,
        sessions: np.ndarray | None = None,
        prior: float = PRIOR_VISITS,
    ) -> Comebacks:
        """The rate of every known user's (``users`` >= 0) visits together."""
        known = np.asarray(users) >= 0
        _, returns, chances = visits(
            np.asarray(users)[known],
            np.asarray(items)[known],
            np.asarray(timestamps)[known],
            None if sessions is None else np.asarray(sessions)[known],
        )
        total = int(chances.sum())
        return cls(float(returns.sum()) / total if total else 0.0, prior)

    def factor(self, returns: int, chances: int) -> float:
        """A shopper's re-show weight multiplier: their rate shrunk towards the shop's, over the
        shop's, at most ``cap`` (1 for a shopper without a later visit yet; 0 where the shop's
        visits never come back)."""
        if self.rate <= 0:
            return 0.0
        own = (returns + self.prior * self.rate) / (max(chances, 0) + self.prior)
        return float(min(own / self.rate, self.cap))

    def of_events(
        self, items: np.ndarray, timestamps: np.ndarray, sessions: np.ndarray | None = None
    ) -> float:
        """:meth:`factor` of one shopper's events (any order)."""
        if self.rate <= 0:
            return 0.0
        if not len(items):
            return self.factor(0, 0)
        _, returns, chances = visits(np.zeros(len(items), np.int64), items, timestamps, sessions)
        return self.factor(int(returns[0]), int(chances[0]))

    def as_dict(self) -> dict[str, float]:
        return {"rate": self.rate, "prior": self.prior, "cap": self.cap}


#: the event kinds that tell whether a shopper comes back (serving keeps these per shopper): the
#: browsing kinds of :data:`.reshow.DEFAULT_INTENT` and purchases
TOUCH_KINDS: tuple[str, ...] = ("view", "click", "add_to_cart", "remove_from_cart", "purchase")


def comeback_factor(log: EventLog, events: np.ndarray, comebacks: Comebacks | None) -> float:
    """The multiplier of one shopper's re-show weights from their event rows ``events`` of
    ``log`` (:meth:`Comebacks.of_events` of their views, cart changes and purchases);
    1 without ``comebacks`` (a choice stored before re-showing was personal)."""
    if comebacks is None:
        return 1.0
    touched = events[_touching(log, events)]
    return comebacks.of_events(log.items[touched], log.timestamps[touched], log.sessions[touched])


def _touching(log: EventLog, rows: np.ndarray | slice) -> np.ndarray:
    codes = [i for i, name in enumerate(log.kind_names) if name in TOUCH_KINDS]
    return np.isin(log.kinds[rows], codes)


def shop_comebacks(log: EventLog) -> Comebacks:
    """The shop's :class:`Comebacks` from its known users' touching events."""
    rows = np.flatnonzero(_touching(log, slice(None)))
    return Comebacks.of(log.users[rows], log.items[rows], log.timestamps[rows], log.sessions[rows])


def comeback_counts(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """Per user row of ``log`` (``n_users``): the visits that came back, and the chances to
    (:func:`visits` of their touching events), what a rebuild stores for serving."""
    rows = np.flatnonzero(_touching(log, slice(None)) & (log.users >= 0))
    ids, returns, chances = visits(log.users[rows], log.items[rows], log.timestamps[rows], log.sessions[rows])
    out_returns = np.zeros(log.n_users, np.int64)
    out_chances = np.zeros(log.n_users, np.int64)
    out_returns[ids], out_chances[ids] = returns, chances
    return out_returns, out_chances
