"""The event log reader: PostgreSQL's vectorised path (training.eventcopy) and the portable one
give the very log the old per-row reader gave, on generated data with users and visitors,
orders and carts, events outside the training window and products no longer in the catalogue."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.engine.base import EventLog
from recommendations.engine.interactions import IdIndex
from recommendations.models import Event
from recommendations.schema import subject_key
from recommendations.training import eventlog
from recommendations.training.eventcopy import first_appearance, read_columns
from recommendations.training.eventlog import TrainingLog, read_events

KINDS = ("view", "add_to_cart", "purchase", "remove_from_cart", "search", "click")


def old_read_events(item_index: IdIndex, order: tuple[str, ...] = ()) -> TrainingLog:
    """The reader as it was before the vectorised path (a per-row loop over the ORM's rows, in
    the database's order); ``order=("created_at", "pk")``: the same in time order, then event id, as
    the readers now read."""
    kind_names = tuple(sorted(app_settings.event_weights))
    kind_codes = {name: i for i, name in enumerate(kind_names)}
    qs = Event.objects.filter(product__isnull=False, kind__in=kind_names)
    if app_settings.TRAINING_WINDOW_DAYS is not None:
        qs = qs.filter(created_at__gte=timezone.now() - timedelta(days=app_settings.TRAINING_WINDOW_DAYS))
    rows = qs.order_by(*order).values_list(
        "user_id", "visitor_id", "product_id", "kind", "created_at", "order_id"
    )
    subjects: dict[str, int] = {}
    orders: dict[str, int] = {}
    users, items, kinds, stamps, order_keys = [], [], [], [], []
    for user_id, visitor_id, product_id, kind, created_at, order_id in rows.iterator(chunk_size=50):
        item = item_index.get(str(product_id))
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
    sessions = eventlog._sessions(users_a, stamps_a, float(app_settings.SESSION_GAP_SECONDS))
    kinds_a = np.asarray(kinds, dtype=np.int16)
    baskets = np.asarray(order_keys, dtype=np.int64)
    if app_settings.BOUGHT_TOGETHER_USE_CARTS and "add_to_cart" in kind_codes:
        carts = kinds_a == kind_codes["add_to_cart"]
        baskets[carts] = len(orders) + sessions[carts]
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
    return TrainingLog(log=log, subjects=IdIndex(list(subjects)), baskets=baskets)


@pytest.fixture
def shop(db, category, settings):
    """~1,500 generated events; returns the catalogue index (a fifth of the products gone)."""
    from tests.testapp.models import Item

    settings.RECOMMENDATIONS_TRAINING_WINDOW_DAYS = 30
    rng = np.random.default_rng(7)
    products = Item.objects.bulk_create([Item(name=f"p{n}", category=category) for n in range(40)])
    users = get_user_model().objects.bulk_create([get_user_model()(username=f"shopper{n}") for n in range(6)])
    visitors = [uuid.UUID(int=int(rng.integers(1, 2**62))) for _ in range(25)]
    now = timezone.now()
    events = []
    for _ in range(1500):
        kind = KINDS[rng.choice(len(KINDS), p=[0.55, 0.15, 0.12, 0.06, 0.06, 0.06])]
        user = users[int(rng.integers(len(users)))] if rng.random() < 0.35 else None
        visitor = visitors[int(rng.integers(len(visitors)))] if user is None or rng.random() < 0.5 else None
        product = None if kind == "search" else products[int(rng.integers(len(products)))]
        age = timedelta(seconds=float(rng.uniform(0, 40 * 86_400)), microseconds=int(rng.integers(1_000_000)))
        events.append(
            Event(
                event_id=uuid.uuid4(),
                kind=kind,
                created_at=now - age,
                user=user,
                visitor_id=visitor,
                product=product,
                order_id=f"o{int(rng.integers(8))}" if kind == "purchase" else "",
                source=Event.Source.IMPORT,
                query="tent" if kind == "search" else "",
            )
        )
    Event.objects.bulk_create(events)
    kept = [str(p.pk) for p in products if rng.random() < 0.8]
    return IdIndex(kept)


def assert_same(new: TrainingLog, old: TrainingLog) -> None:
    for name in ("users", "items", "kinds", "timestamps", "sessions"):
        a, b = getattr(new.log, name), getattr(old.log, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert (new.log.kind_names, new.log.n_users, new.log.n_items) == (
        old.log.kind_names,
        old.log.n_users,
        old.log.n_items,
    )
    assert new.subjects.ids.tolist() == old.subjects.ids.tolist()
    np.testing.assert_array_equal(new.baskets, old.baskets)


def events_of(data: TrainingLog) -> list[tuple]:
    keys = data.subjects.ids
    log = data.log
    return sorted(
        zip(
            keys[log.users].tolist(),
            log.items.tolist(),
            log.kinds.tolist(),
            log.timestamps.tolist(),
            strict=True,
        )
    )


def test_read_events_gives_the_old_readers_log(shop):
    old = old_read_events(shop, ("created_at", "pk"))
    # the data exercises what the reader must get right
    assert len(old.log.items) > 500
    assert any(k.startswith("u:") for k in old.subjects.ids) and any(
        k.startswith("v:") for k in old.subjects.ids
    )
    assert (old.baskets >= 0).sum() > 50
    every = Event.objects.filter(product__isnull=False, kind__in=app_settings.event_weights).count()
    assert len(old.log.items) < every  # the window and the missing products dropped some
    new = read_events(shop)
    assert_same(new, old)
    # the old reader as it was (the database's row order): the same events of the same subjects
    assert events_of(new) == events_of(old_read_events(shop))


def test_postgresql_reader_matches_the_portable_one(shop, postgres):
    kind_names = tuple(sorted(app_settings.event_weights))
    since = timezone.now() - timedelta(days=30)
    fast = read_columns(shop, kind_names, since)
    portable = eventlog._read_rows(shop, kind_names, since, 100)
    for name in ("subjects", "items", "kinds", "timestamps", "orders"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(portable, name), err_msg=name)
    assert fast.subject_keys == portable.subject_keys
    assert fast.n_orders == portable.n_orders > 0
    # nothing left behind: a second read in the same connection works and reads the same
    again = read_columns(shop, kind_names, None)
    assert len(again.items) > len(fast.items)


def test_postgresql_reader_on_an_empty_log(db, postgres):
    columns = read_columns(IdIndex([str(uuid.uuid4())]), ("view",), None)
    assert len(columns.items) == 0 and columns.subject_keys == [] and columns.n_orders == 0


def test_first_appearance_numbers_codes_as_they_first_come():
    codes, old = first_appearance(np.array([7, 3, 7, 0, 3, 9]))
    np.testing.assert_array_equal(codes, [0, 1, 0, 2, 1, 3])
    np.testing.assert_array_equal(old, [7, 3, 0, 9])
