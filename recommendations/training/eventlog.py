"""Read the ``Event`` table into the engine's columnar :class:`EventLog` (streamed, chunked).

Subjects are ``"u:<user id>"`` for logged-in rows and ``"v:<visitor id>"`` otherwise (the same
keys as the live state). Items are numbered in catalogue order (see :mod:`.catalogue`); events of
products no longer in the catalogue are dropped. Sessions are cut after ``SESSION_GAP_SECONDS``
of inactivity of a subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.engine.base import EventLog
from recommendations.engine.interactions import IdIndex
from recommendations.models import Event
from recommendations.schema import subject_key
from recommendations.training.eventcopy import Columns, read_columns


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
    """Every product event within ``TRAINING_WINDOW_DAYS`` as an :class:`TrainingLog`: numbered
    and streamed by PostgreSQL itself there (:mod:`.eventcopy`), row by row elsewhere; the same
    log either way."""
    kind_names = tuple(sorted(app_settings.event_weights))
    since = None
    if app_settings.TRAINING_WINDOW_DAYS is not None:
        since = timezone.now() - timedelta(days=app_settings.TRAINING_WINDOW_DAYS)
    using = Event.objects.db
    if connections[using].vendor == "postgresql" and using == DEFAULT_DB_ALIAS:
        columns = read_columns(item_index, kind_names, since)
    else:
        columns = _read_rows(item_index, kind_names, since, chunk_size)
    return _training_log(columns, kind_names, len(item_index))


def _read_rows(
    item_index: IdIndex, kind_names: tuple[str, ...], since: datetime | None, chunk_size: int
) -> Columns:
    """The portable reader: the ORM's rows in time order (then event id), one Python step each."""
    kind_codes = {name: i for i, name in enumerate(kind_names)}
    qs = Event.objects.filter(product__isnull=False, kind__in=kind_names)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    rows = qs.order_by("created_at", "pk").values_list(
        "user_id", "visitor_id", "product_id", "kind", "created_at", "order_id"
    )
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
    return Columns(
        subjects=np.asarray(users, dtype=np.int64),
        subject_keys=list(subjects),
        items=np.asarray(items, dtype=np.int64),
        kinds=np.asarray(kinds, dtype=np.int16),
        timestamps=np.asarray(stamps, dtype=np.float64),
        orders=np.asarray(order_keys, dtype=np.int64),
        n_orders=len(orders),
    )


def _training_log(columns: Columns, kind_names: tuple[str, ...], n_items: int) -> TrainingLog:
    sessions = _sessions(columns.subjects, columns.timestamps, float(app_settings.SESSION_GAP_SECONDS))
    baskets = columns.orders.copy()
    if app_settings.BOUGHT_TOGETHER_USE_CARTS and "add_to_cart" in kind_names:
        carts = columns.kinds == kind_names.index("add_to_cart")
        baskets[carts] = columns.n_orders + sessions[carts]
    log = EventLog(
        users=columns.subjects,
        items=columns.items,
        kinds=columns.kinds,
        timestamps=columns.timestamps,
        sessions=sessions,
        kind_names=kind_names,
        n_users=len(columns.subject_keys),
        n_items=n_items,
    )
    # subject ids in first-appearance order: IdIndex keeps the given order
    return TrainingLog(log=log, subjects=IdIndex(columns.subject_keys), baskets=baskets)
