"""Sources of items the shopper already touched: ``buy_again`` (consumables due again) and
``browsed`` (viewed or carted, not bought since), each with a per-item reason.

Both read the shopper's trained rows (``Bundle.shoppers``, written at rebuild) joined with the
live state's newest events, so a purchase or a view made a minute ago counts at once. The maths
is the engine's (:mod:`recommendations.engine.repeat`, :mod:`recommendations.engine.reshow`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from recommendations.engine.comebacks import Comebacks
from recommendations.engine.hybrid import SourceScores
from recommendations.engine.repeat import reason as repeat_reason
from recommendations.engine.reshow import DEFAULT_INTENT, browsed, browsed_probability
from recommendations.serving.bundle import Bundle
from recommendations.serving.visitor import Facts

BROWSE_TEXT = {
    "add_to_cart": "Still thinking about it? You added it to your cart",
    "remove_from_cart": "Still thinking about it? You had it in your cart",
}
VIEWED_TEXT = "Still thinking about it? You looked at it"
BROWSE_KINDS = frozenset(DEFAULT_INTENT)


@dataclass
class Seen:
    """A seen source's dense scores and the reason text of each scored item."""

    scores: SourceScores | None
    texts: dict[int, str] = field(default_factory=dict)


def _trained_until(bundle: Bundle, facts: Facts) -> float:
    """The newest trained event of the shopper: live events up to it are already in the rows."""
    shoppers = bundle.shoppers
    if shoppers is None or facts.row is None:
        return -np.inf
    stamps = [
        t[t_part]
        for t, t_part in (
            (shoppers.bought.stamps, shoppers.bought.row(facts.row)),
            (shoppers.browsed.stamps, shoppers.browsed.row(facts.row)),
        )
    ]
    return max((float(s.max()) for s in stamps if s.size), default=-np.inf)


def _live(bundle: Bundle, facts: Facts, kinds: frozenset[str]) -> tuple[list[int], list[str], list[float]]:
    """The live state's events of ``kinds`` newer than the trained rows, oldest first."""
    items, names, stamps = [], [], []
    since = _trained_until(bundle, facts)
    for event in reversed(facts.state.recent_items):
        idx = bundle.index.get(event.product_id)
        if idx is not None and event.kind in kinds and event.timestamp > since:
            items.append(idx)
            names.append(event.kind)
            stamps.append(event.timestamp)
    return items, names, stamps


def purchases(bundle: Bundle, facts: Facts) -> tuple[np.ndarray, np.ndarray]:
    """The shopper's purchases (items, unix seconds): trained rows plus live ones (a purchase in
    both counts once: the model collapses purchases of one item within an hour)."""
    items, _, stamps = _live(bundle, facts, frozenset({"purchase"}))
    shoppers = bundle.shoppers
    if shoppers is not None and facts.row is not None:
        part = shoppers.bought.row(facts.row)
        items = [*shoppers.bought.items[part].tolist(), *items]
        stamps = [*shoppers.bought.stamps[part].tolist(), *stamps]
    return np.asarray(items, dtype=np.int64), np.asarray(stamps, dtype=np.float64)


def buy_again(bundle: Bundle, facts: Facts, now: float) -> Seen:
    """What the shopper buys again and is due to, "You buy this about every 30 days"."""
    if bundle.repeat is None:
        return Seen(None)
    items, stamps = purchases(bundle, facts)
    if not items.size:
        return Seen(None)
    due = bundle.repeat.due(items, stamps, now)
    if not due.items.size:
        return Seen(None)
    texts = {
        int(item): repeat_reason(float(days), bool(own))
        for item, days, own in zip(due.items, due.interval_days, due.own_rhythm, strict=True)
    }
    evidence = {int(item): (int(item),) for item in due.items}
    return Seen(SourceScores(due.dense(bundle.n_items), kind="buy_again", evidence=evidence), texts)


def browsing(bundle: Bundle, facts: Facts) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The shopper's views, clicks, cart changes and purchases: (items, kinds, unix seconds)."""
    items, kinds, stamps = _live(bundle, facts, BROWSE_KINDS | {"purchase"})
    shoppers = bundle.shoppers
    if shoppers is not None and facts.row is not None:
        seen_part = shoppers.browsed.row(facts.row)
        codes = shoppers.browsed.kinds
        names = [shoppers.browse_kinds[c] for c in codes[seen_part].tolist()] if codes is not None else []
        bought_part = shoppers.bought.row(facts.row)
        n_bought = bought_part.stop - bought_part.start
        items = [
            *shoppers.browsed.items[seen_part].tolist(),
            *shoppers.bought.items[bought_part].tolist(),
            *items,
        ]
        kinds = [*names, *(["purchase"] * n_bought), *kinds]
        stamps = [
            *shoppers.browsed.stamps[seen_part].tolist(),
            *shoppers.bought.stamps[bought_part].tolist(),
            *stamps,
        ]
    return np.asarray(items, dtype=np.int64), kinds, np.asarray(stamps, dtype=np.float64)


def browsed_not_bought(bundle: Bundle, facts: Facts, now: float) -> Seen:
    """Viewed or carted and not bought since, by intent and recency ("still thinking about it")."""
    items, kinds, stamps = browsing(bundle, facts)
    if not items.size:
        return Seen(None)
    result = browsed(items, kinds, stamps, now, bundle.n_items)
    if not result.scores.any():
        return Seen(None)
    # the same order, as a chance in [0, 1): what "for you" blends when it re-shows browsing
    result = dataclasses.replace(result, scores=browsed_probability(result.scores))
    texts = {item: BROWSE_TEXT.get(kind, VIEWED_TEXT) for item, kind in result.strongest.items()}
    evidence = {item: (item,) for item in result.strongest}
    return Seen(SourceScores(result.scores, kind="browsed", evidence=evidence), texts)


def comeback_factor(bundle: Bundle, facts: Facts, comebacks: Comebacks) -> float:
    """The multiplier of the shopper's re-show weights: :meth:`Comebacks.factor` of the visits
    that came back and the chances the rebuild counted for their row (none: the shop's weights)."""
    shoppers = bundle.shoppers
    if shoppers is None or shoppers.comebacks is None or facts.row is None:
        return comebacks.factor(0, 0)
    return comebacks.factor(*shoppers.comebacks.of(facts.row))
