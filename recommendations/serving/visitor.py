"""What one request knows about the visitor: live recent events plus trained history."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recommendations.conf import app_settings
from recommendations.live import get_live_store
from recommendations.live.base import RecentItem, VisitorState
from recommendations.serving.bundle import Bundle
from recommendations.subjects import Subject

CART_KINDS = frozenset({"add_to_cart", "remove_from_cart", "purchase"})
MAX_TRAINED_HISTORY = 50


@dataclass
class Facts:
    state: VisitorState
    recent_ids: list[str]  # product ids, newest first, unique
    in_cart: set[str] = field(default_factory=set)
    purchased: set[str] = field(default_factory=set)
    history: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # item indices
    weights: np.ndarray = field(default_factory=lambda: np.empty(0))
    sequence: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # oldest first
    times: np.ndarray = field(default_factory=lambda: np.empty(0))
    purchased_idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    known: bool = False  # the visitor has a trained history (a "known user" to the models)
    row: int | None = None  # the visitor's row in the trained users part, if any


def live_state(visitor: Subject | None) -> VisitorState:
    subject = None if visitor is None else visitor.key
    return VisitorState() if subject is None else get_live_store().visitor_state(subject)


def _cart_and_purchases(recent: list[RecentItem]) -> tuple[set[str], set[str]]:
    in_cart, purchased, decided = set(), set(), set()
    for item in recent:  # newest first: the newest cart-changing event decides
        if item.kind == "purchase":
            purchased.add(item.product_id)
        if item.kind in CART_KINDS and item.product_id not in decided:
            decided.add(item.product_id)
            if item.kind == "add_to_cart":
                in_cart.add(item.product_id)
    return in_cart, purchased


def gather(visitor: Subject | None, bundle: Bundle | None) -> Facts:
    state = live_state(visitor)
    recent = state.recent_items
    recent_ids = list(dict.fromkeys(item.product_id for item in recent))
    in_cart, purchased = _cart_and_purchases(recent)
    facts = Facts(state=state, recent_ids=recent_ids, in_cart=in_cart, purchased=purchased)
    if bundle is None:
        return facts
    weights = app_settings.event_weights
    scores: dict[int, float] = {}
    seq, times = [], []
    for rank, item in enumerate(recent):
        idx = bundle.index.get(item.product_id)
        if idx is None:
            continue
        seq.append(idx)
        times.append(item.timestamp)
        kind_weight = max(float(weights.get(item.kind, 0.0)), 0.0) or 0.5
        scores[idx] = scores.get(idx, 0.0) + kind_weight * 0.5 ** (rank / 10.0)
    live_top = max(scores.values(), default=1.0)
    row = bundle.user_row.get(visitor.key) if visitor is not None and visitor.key else None
    facts.row = row
    if row is not None:
        facts.known = True
        lo, hi = bundle.history.indptr[row], bundle.history.indptr[row + 1]
        cols, vals = bundle.history.indices[lo:hi], bundle.history.data[lo:hi]
        if len(cols) > MAX_TRAINED_HISTORY:
            keep = np.argsort(-vals, kind="stable")[:MAX_TRAINED_HISTORY]
            cols, vals = cols[keep], vals[keep]
        top = float(vals.max()) if len(vals) else 1.0
        scale = app_settings.HISTORY_WEIGHT * live_top / (top or 1.0)
        for idx, value in zip(cols.tolist(), vals.tolist(), strict=True):
            scores[idx] = scores.get(idx, 0.0) + value * scale
        plo, phi = bundle.purchased.indptr[row], bundle.purchased.indptr[row + 1]
        facts.purchased_idx = bundle.purchased.indices[plo:phi].astype(np.int64)
    if scores:
        facts.history = np.fromiter(scores, dtype=np.int64, count=len(scores))
        facts.weights = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    facts.sequence = np.asarray(seq[::-1], dtype=np.int64)
    facts.times = np.asarray(times[::-1], dtype=np.float64)
    return facts
