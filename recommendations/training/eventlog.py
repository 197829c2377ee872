"""Read the ``Event`` table into the engine's columnar :class:`EventLog` (streamed, chunked).

Subjects are ``"u:<user id>"`` for logged-in rows and ``"v:<visitor id>"`` otherwise (the same
keys as the live state). Items are numbered in catalogue order (see :mod:`.catalogue`); events of
products no longer in the catalogue are dropped. Sessions are cut after ``SESSION_GAP_SECONDS``
of inactivity of a subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.engine.base import EventLog
from recommendations.engine.interactions import IdIndex
from recommendations.models import Event
from recommendations.schema import subject_key


@dataclass(frozen=True)
class TrainingLog:
    log: EventLog
    subjects: IdIndex  # subject key -> user index
    baskets: np.ndarray  # int64 per event: purchase order key / cart session, -1 for neither


def _sessions(users: np.ndarray, stamps: np.ndarray, gap: float) -> np.ndarray:
    order = np.lexsort((stamps, users))
    new = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        same_user = users[order][1:] == users[order][:-1]
        close = np.diff(stamps[order]) <= gap
        new[1:] = ~(same_user & close)
    sessions = np.empty(len(order), dtype=np.int64)
    sessions[order] = np.cumsum(new) - 1
    return sessions


def read_events(item_index: IdIndex, chunk_size: int = 20_000) -> TrainingLog:
    """Every product event within ``TRAINING_WINDOW_DAYS`` as an :class:`TrainingLog`."""
    kind_names = tuple(sorted(app_settings.event_weights))
    kind_codes = {name: i for i, name in enumerate(kind_names)}
    qs = Event.objects.filter(product__isnull=False, kind__in=kind_names)
    if app_settings.TRAINING_WINDOW_DAYS is not None:
        qs = qs.filter(created_at__gte=timezone.now() - timedelta(days=app_settings.TRAINING_WINDOW_DAYS))
    rows = qs.order_by().values_list("user_id", "visitor_id", "product_id", "kind", "created_at", "order_id")
    subjects: dict[str, int] = {}
    orders: dict[str, int] = {}
    users, items, kinds, stamps, order_keys = [], [], [], [], []
    lookup = item_index.get
    for user_id, visitor_id, product_id, kind, created_at, order_id in rows.iterator(chunk_size=chunk_size):
        item = lookup(str(product_id))
        if item is None:
            continue
        subject = subject_key(user_id, visitor_id)
        users.append(subjects.setdefault(subject, len(subjects)))
        items.append(item)
        kinds.append(kind_codes[kind])
        stamps.append(created_at.timestamp())
        order_keys.append(
            orders.setdefault(f"{subject}|{order_id}", len(orders)) if kind == "purchase" else -1
        )
    users_a = np.asarray(users, dtype=np.int64)
    stamps_a = np.asarray(stamps, dtype=np.float64)
    sessions = _sessions(users_a, stamps_a, float(app_settings.SESSION_GAP_SECONDS))
    order_a = np.asarray(order_keys, dtype=np.int64)
    kinds_a = np.asarray(kinds, dtype=np.int16)
    baskets = order_a.copy()
    if app_settings.BOUGHT_TOGETHER_USE_CARTS and "add_to_cart" in kind_codes:
        carts = kinds_a == kind_codes["add_to_cart"]
        baskets[carts] = len(orders) + sessions[carts]
    # subject ids in insertion order: IdIndex keeps the given order
    subject_index = IdIndex(list(subjects))
    log = EventLog(
        users=users_a,
        items=np.asarray(items, dtype=np.int64),
        kinds=kinds_a,
        timestamps=stamps_a,
        sessions=sessions,
        kind_names=kind_names,
        n_users=len(subjects),
        n_items=len(item_index),
    )
    return TrainingLog(log=log, subjects=subject_index, baskets=baskets)
