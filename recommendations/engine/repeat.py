"""Repeat purchases: which products are bought again, after how long, and what a shopper is due.

:class:`RepeatModel` learns from the shop's own orders, per product and per category:

* the **repeat rate**: the share of a product's buyers who bought it again (a Beta-smoothed
  estimate, shrunk towards the product's category and the category towards the whole shop, so a
  new shampoo inherits the category's habit and a tent stays a durable; a product enough of whose
  buyers never bought it again keeps its own rate, however repeatable its category);
* the **inter-purchase interval**: a log-normal fitted to the gaps between one buyer's purchases
  of one product (mean and spread of the log gap, shrunk the same way).

:meth:`RepeatModel.due` then scores one shopper's purchases: an item is *due* when "now" is close
to their expected next purchase (their own rhythm where they bought it at least twice, blended
with the product's). Items past due stay candidates for a while (the spread is doubled on the late
side) and fade once the shopper has clearly stopped buying them. Every due item carries its
expected interval in days, for the reason "You buy this about every 30 days".

Purchases of one item by one buyer closer than ``same_purchase_seconds`` count as one purchase
(an order line split in two, a double click). Nothing here knows about Django: items are indices,
categories integer codes (-1 unknown), timestamps unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
from scipy.stats import binom

DAY = 86400.0
# without any observed gap the interval prior is a month, with a wide spread
DEFAULT_LOG_INTERVAL = float(np.log(30 * DAY))
DEFAULT_LOG_SIGMA = 1.0
MIN_LOG_SIGMA = 0.15


@dataclass(frozen=True)
class Due:
    """One shopper's repeat candidates: ``scores[i]`` for ``items[i]`` (all > 0), best first."""

    items: np.ndarray  # int64
    scores: np.ndarray  # float64 in (0, 1]: P(buys again) x timing
    interval_days: np.ndarray  # the expected interval between two purchases, days
    own_rhythm: np.ndarray  # bool: the shopper bought it at least twice (their own interval)
    last_bought: np.ndarray  # unix seconds of the last purchase

    def dense(self, n_items: int) -> np.ndarray:
        out = np.zeros(n_items)
        out[self.items] = self.scores
        return out


def _collapse(
    users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, same_seconds: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Purchases sorted by (user, item, time), with near-duplicates of one purchase dropped."""
    order = np.lexsort((timestamps, items, users))
    u, i, t = users[order], items[order], timestamps[order]
    if len(u) > 1:
        same_pair = (u[1:] == u[:-1]) & (i[1:] == i[:-1])
        keep = np.r_[True, ~(same_pair & (np.diff(t) < same_seconds))]
        u, i, t = u[keep], i[keep], t[keep]
    return u, i, t


def _shrink(hits: np.ndarray, trials: np.ndarray, prior_mean: np.ndarray, strength: float) -> np.ndarray:
    return (hits + strength * prior_mean) / (trials + strength)


class RepeatModel:
    """Per item: repeat rate and log-normal inter-purchase interval (see the module docstring).

    ``prior`` is the pseudo-count of the shrinkage (buyers for the rate, gaps for the interval).
    ``durable_rate``: items whose repeat rate is below it are "not bought again".
    """

    def __init__(
        self, prior: float = 5.0, same_purchase_seconds: float = 3600.0, durable_rate: float = 0.1
    ) -> None:
        self.prior, self.same_purchase_seconds, self.durable_rate = prior, same_purchase_seconds, durable_rate

    def fit(
        self,
        users: np.ndarray,
        items: np.ndarray,
        timestamps: np.ndarray,
        n_items: int,
        item_category: np.ndarray | None = None,
    ) -> Self:
        """Learn from purchase events (one row per purchased item: buyer, item, time)."""
        u, i, t = _collapse(
            np.asarray(users, dtype=np.int64),
            np.asarray(items, dtype=np.int64),
            np.asarray(timestamps, dtype=np.float64),
            self.same_purchase_seconds,
        )
        self.n_items = n_items
        cat = np.full(n_items, -1, dtype=np.int64) if item_category is None else np.asarray(item_category)
        cat = np.where(cat >= 0, cat, -1).astype(np.int64)
        n_cats = int(cat.max()) + 1 if cat.size and cat.max() >= 0 else 0
        # pairs (buyer, item): how often bought, and the log gaps between consecutive purchases
        new_pair = np.r_[True, (u[1:] != u[:-1]) | (i[1:] != i[:-1])] if len(u) else np.empty(0, bool)
        pair_item = i[new_pair]
        pair_count = np.diff(np.r_[np.flatnonzero(new_pair), len(u)])
        gap_item = i[~new_pair]
        gaps = np.diff(t)[~new_pair[1:]] if len(u) > 1 else np.empty(0)
        log_gaps = np.log(np.maximum(gaps, self.same_purchase_seconds))

        buyers = np.bincount(pair_item, minlength=n_items).astype(np.float64)
        repeaters = np.bincount(pair_item, weights=(pair_count > 1).astype(np.float64), minlength=n_items)
        n_gaps = np.bincount(gap_item, minlength=n_items).astype(np.float64)
        s1 = np.bincount(gap_item, weights=log_gaps, minlength=n_items)
        s2 = np.bincount(gap_item, weights=log_gaps**2, minlength=n_items)

        shop_rate = repeaters.sum() / buyers.sum() if buyers.sum() else 0.0
        shop_mu = s1.sum() / n_gaps.sum() if n_gaps.sum() else DEFAULT_LOG_INTERVAL
        shop_var = (
            max(s2.sum() / n_gaps.sum() - shop_mu**2, MIN_LOG_SIGMA**2)
            if n_gaps.sum() > 1
            else DEFAULT_LOG_SIGMA**2
        )

        def per_category(values: np.ndarray) -> np.ndarray:
            has = cat >= 0
            return np.bincount(cat[has], weights=values[has], minlength=n_cats) if n_cats else np.zeros(0)

        c_buyers, c_rep = per_category(buyers), per_category(repeaters)
        c_n, c_s1, c_s2 = per_category(n_gaps), per_category(s1), per_category(s2)
        self.category_rate = _shrink(c_rep, c_buyers, np.full(n_cats, shop_rate), self.prior)
        self.category_log_interval = _shrink(c_s1, c_n, np.full(n_cats, shop_mu), self.prior)
        c_var = (c_s2 - 2 * self.category_log_interval * c_s1 + c_n * self.category_log_interval**2) + (
            self.prior * shop_var
        )
        self.category_log_sigma = np.sqrt(np.maximum(c_var / (c_n + self.prior), MIN_LOG_SIGMA**2))

        def parent(values: np.ndarray, shop: float) -> np.ndarray:
            return np.where(cat >= 0, values[np.maximum(cat, 0)] if n_cats else shop, shop)

        parent_rate = parent(self.category_rate, shop_rate)
        self.rate = _shrink(repeaters, buyers, parent_rate, self.prior)
        # where the item's own buyers say it is not bought again (hardly anyone did, and that many
        # buyers would show the parent's habit: one-sided binomial test at 5 %), the shrinkage
        # towards a parent full of consumables must not make a durable look repeatable
        raw = np.divide(repeaters, buyers, out=np.zeros(n_items), where=buyers > 0)
        plain = (buyers > 0) & (raw < self.durable_rate)
        plain &= binom.cdf(repeaters, np.maximum(buyers, 1), np.clip(parent_rate, 0.0, 1.0)) < 0.05
        self.rate = np.where(plain, raw, self.rate)
        self.log_interval = _shrink(s1, n_gaps, parent(self.category_log_interval, shop_mu), self.prior)
        prior_sigma = parent(self.category_log_sigma, float(np.sqrt(shop_var)))
        var = s2 - 2 * self.log_interval * s1 + n_gaps * self.log_interval**2 + self.prior * prior_sigma**2
        self.log_sigma = np.sqrt(np.maximum(var / (n_gaps + self.prior), MIN_LOG_SIGMA**2))
        self.buyers, self.repeaters, self.n_gaps = buyers, repeaters, n_gaps
        self.shop_rate = float(shop_rate)
        return self

    #: what :meth:`to_arrays` stores: enough to score :meth:`due` and report the fit
    STORED = ("rate", "log_interval", "log_sigma", "buyers", "repeaters", "n_gaps")

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted per-item arrays and parameters, as plain arrays (stored with a model version)."""
        out = {name: np.asarray(getattr(self, name), dtype=np.float64) for name in self.STORED}
        out["params"] = np.asarray(
            [self.prior, self.same_purchase_seconds, self.durable_rate, self.shop_rate], dtype=np.float64
        )
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> RepeatModel:
        prior, same, durable, shop = (float(x) for x in arrays["params"])
        model = cls(prior=prior, same_purchase_seconds=same, durable_rate=durable)
        for name in cls.STORED:
            setattr(model, name, np.asarray(arrays[name], dtype=np.float64))
        model.n_items, model.shop_rate = len(model.rate), shop
        return model

    def interval_days(self, item: int) -> float:
        return float(np.exp(self.log_interval[item]) / DAY)

    def durable(self) -> np.ndarray:
        """Boolean per item: the data says it is not bought again."""
        return self.rate < self.durable_rate

    def due(self, items: np.ndarray, timestamps: np.ndarray, now: float) -> Due:
        """Score one shopper's purchases (``items`` bought at ``timestamps``) at time ``now``."""
        items = np.asarray(items, dtype=np.int64)
        keep = (items >= 0) & (items < self.n_items)
        _, i, t = _collapse(
            np.zeros(int(keep.sum()), dtype=np.int64),
            items[keep],
            np.asarray(timestamps, dtype=np.float64)[keep],
            self.same_purchase_seconds,
        )
        if not len(i):
            empty = np.empty(0)
            return Due(np.empty(0, np.int64), empty, empty, np.empty(0, bool), empty)
        starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
        uniq = i[starts]
        count = np.diff(np.r_[starts, len(i)])
        last = t[np.r_[starts[1:], len(i)] - 1]
        same = np.r_[False, i[1:] == i[:-1]]
        own_log = np.log(np.maximum(np.diff(t, prepend=t[0]), self.same_purchase_seconds))
        own_sum = np.add.reduceat(np.where(same, own_log, 0.0), starts)
        n_own = count - 1
        # the shopper's own rhythm, blended with the item's (one pseudo-gap of the item's mean)
        mu = (own_sum + self.log_interval[uniq]) / (n_own + 1.0)
        sigma = self.log_sigma[uniq]
        elapsed = np.maximum(now - last, self.same_purchase_seconds)
        z = (np.log(elapsed) - mu) / sigma
        timing = np.exp(-0.5 * np.where(z > 0, z / 2.0, z) ** 2)
        # bought it n times already: more likely again than an average buyer
        p = (2.0 * self.rate[uniq] + n_own) / (2.0 + n_own)
        p = np.where(self.rate[uniq] < self.durable_rate, 0.0, p)
        score = p * timing
        order = np.argsort(-score, kind="stable")
        order = order[score[order] > 0]
        return Due(
            items=uniq[order],
            scores=score[order],
            interval_days=np.exp(mu[order]) / DAY,
            own_rhythm=n_own[order] > 0,
            last_bought=last[order],
        )


def reason(interval_days: float, own_rhythm: bool) -> str:
    """``"You buy this about every 30 days"``, or the shop's habit when the shopper bought it once."""
    days = max(round(interval_days), 1)
    if days < 2:
        span = "day"
    elif days < 60:
        span = f"{days} days"
    else:
        span = f"{round(days / 30.4)} months"
    if own_rhythm:
        return f"You buy this about every {span}"
    return f"Shoppers buy this again about every {span}"
