"""The self-evaluation sorts its log by user once and by session once (issue 11, its cost): each
split cut from the last one's training log derives its order from the last one's
(``validation.kept_order``), and the re-show choice's returning users and seen lists share the
training log's. The same splits, the same queries, the same choice as when each sorted its own."""

from dataclasses import replace

import numpy as np
import pytest

from recommendations.engine import reshow, returning, selection
from recommendations.engine import validation as v
from recommendations.engine.base import EventLog
from recommendations.engine.interactions import build_matrix
from recommendations.engine.item_splits import session_item_splits
from tests.engine.test_query_window import shop
from tests.engine.test_selection_cost import taste_shop


def tied_log(seed, n=8000, n_users=400, n_items=50):
    """Whole-second times with many ties per user, anonymous rows, rows without a session."""
    rng = np.random.default_rng(seed)
    users = rng.integers(-1, n_users, n)
    sessions = np.where(rng.random(n) < 0.1, -1, users * 7 + rng.integers(0, 7, n))
    return EventLog(
        users=users.astype(np.int64),
        items=rng.integers(0, n_items, n).astype(np.int64),
        kinds=rng.integers(0, 3, n).astype(np.int16),
        timestamps=np.where(sessions >= 0, sessions % 7 * 6, rng.integers(0, 40, n))
        + rng.integers(0, 3, n) * 1.0,
        sessions=sessions.astype(np.int64),
        kind_names=("view", "add_to_cart", "purchase"),
        n_users=n_users,
        n_items=n_items,
    )


@pytest.mark.parametrize("seed", range(5))
def test_kept_order_is_the_sorted_one(seed):
    log = tied_log(seed)
    keep = np.random.default_rng(seed).random(len(log.items)) < 0.7
    for keys in (None, log.sessions):
        order = v.by_user_order(log, keys)
        sub = v._take(log, keep)
        expected = v.by_user_order(sub, None if keys is None else sub.sessions)
        np.testing.assert_array_equal(v.kept_order(order, keep), expected)
    order = v.by_user_order(log)
    assert reshow.rows_by_user(log, order).keys() == reshow.rows_by_user(log).keys()
    for user, rows in reshow.rows_by_user(log).items():
        np.testing.assert_array_equal(reshow.rows_by_user(log, order)[user], rows)


def make_splits_before(log, settings):
    """selection.make_splits as it was before it sorted the log once (each split its own sort)."""
    n, seed = settings.max_queries, settings.seed
    recent = v.recent_split(log, max_queries=n, seed=seed)
    used = set(recent.queries.users.tolist())
    rand = v.random_split(recent.train, max_queries=n, seed=seed + 1, skip=used)
    used |= set(rand.queries.users.tolist())
    nxt = v.session_split(rand.train, max_queries=n, seed=seed + 2, skip_users=used)
    coview, basket = session_item_splits(
        rand.train, max_queries=n, seed=seed + 4, skip_users=used, cart_kinds=settings.cart_kinds
    )
    held = np.union1d(nxt.held_sessions, coview.held_sessions)
    train = v.without_sessions(rand.train, held)
    splits = {
        "recent": replace(recent, train=train, train_order=None),
        "random": replace(rand, train=train, train_order=None),
        "next_click": replace(nxt, train=train),
        "coview": replace(coview, train=train),
        "basket": replace(basket, train=train),
    }
    wanted = {name for c in settings.contexts for name in selection.CONTEXT_SPLITS[c]}
    return train, {name: split for name, split in splits.items() if name in wanted}


def assert_same_log(a, b):
    for field in ("users", "items", "kinds", "timestamps", "sessions"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert (a.kind_names, a.n_users, a.n_items) == (b.kind_names, b.n_users, b.n_items)


def assert_same_queries(a, b):
    np.testing.assert_array_equal(a.users, b.users)
    for name in ("sequences", "times", "targets", "again"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        for p, q in zip(x or [], y or [], strict=True):
            assert p.dtype == q.dtype
            np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(a.at, b.at)
    assert a.exclude_seen == b.exclude_seen


LOGS = {"taste": lambda: taste_shop(seed=7), "sessions": lambda: shop(seed=4), "tied": lambda: tied_log(9)}


@pytest.mark.parametrize("name", LOGS)
def test_the_splits_are_the_same(name):
    log = LOGS[name]()
    s = selection.Settings(max_queries=60, min_queries=20)
    train, splits = selection.make_splits(log, s)
    train_b, splits_b = make_splits_before(log, s)
    assert_same_log(train, train_b)
    assert splits.keys() == splits_b.keys()
    for key, split in splits.items():
        assert split.train is train
        assert_same_queries(split.queries, splits_b[key].queries)
        np.testing.assert_array_equal(split.held_sessions, splits_b[key].held_sessions)
        np.testing.assert_array_equal(split.train_order, v.by_user_order(train))
    # the returning users, from the kept order and from a sort of their own
    order = splits["recent"].train_order
    with_order = returning.returning_split(train, 30, 60, 5, skip={1, 2}, order=order)
    assert_same_queries(with_order.queries, returning.returning_split(train, 30, 60, 5, skip={1, 2}).queries)


@pytest.mark.parametrize("name", ["taste", "sessions"])
def test_the_choice_is_the_same(monkeypatch, name):
    log = LOGS[name]()
    s = selection.Settings(
        only=("popularity", "itemknn", "stan", "sequential_rules"),
        max_queries=150,
        min_queries=50,
        max_evaluations=4,
    )
    build = lambda sub: build_matrix(sub, {"view": 1.0})  # noqa: E731
    new = selection.select(log, build, s)
    monkeypatch.setattr(selection, "make_splits", make_splits_before)
    old = selection.select(log, build, s)
    assert new.held_out_share == old.held_out_share and new.query_window == old.query_window
    for key, choice in new.contexts.items():
        assert choice.weights == old.contexts[key].weights
        assert choice.params == old.contexts[key].params
        assert choice.metrics == old.contexts[key].metrics
        assert choice.reshow == old.contexts[key].reshow
        assert choice.n_queries == old.contexts[key].n_queries


def history_rows_before(split, matrix, weights=None):
    """validation.history_rows as it was: one row per query, stacked."""
    import scipy.sparse as sp

    q = split.queries
    rows = []
    for user, seq in zip(q.users.tolist(), q.sequences, strict=True):
        if user >= 0:
            rows.append(matrix[user])
        else:
            w = np.ones(len(seq)) if weights is None else weights
            values = np.bincount(seq, weights=w, minlength=matrix.shape[1])
            rows.append(sp.csr_matrix(values.reshape(1, -1)))
    return sp.vstack(rows, format="csr") if rows else sp.csr_matrix((0, matrix.shape[1]))


@pytest.mark.parametrize("name", LOGS)
def test_history_rows_are_what_they_were(name):
    log = LOGS[name]()
    train, splits = selection.make_splits(log, selection.Settings(max_queries=60, min_queries=20))
    matrix = build_matrix(train, {"view": 1.0, "add_to_cart": 2.0, "purchase": 3.0})
    visitors = replace(
        splits["recent"],
        queries=replace(splits["recent"].queries, users=splits["recent"].queries.users * 0 - 1),
    )
    empty = replace(splits["recent"], queries=v.Queries(np.empty(0, np.int64), [], [], [], True))
    half = splits["recent"].queries.users.copy()
    half[::2] = -1
    cases = [
        *splits.values(),
        visitors,
        replace(visitors, queries=replace(visitors.queries, users=half)),
        empty,
    ]
    for split in cases:
        new, old = v.history_rows(split, matrix), history_rows_before(split, matrix)
        assert new.dtype == old.dtype and new.shape == old.shape
        for part in ("indptr", "indices", "data"):
            assert getattr(new, part).dtype == getattr(old, part).dtype
            np.testing.assert_array_equal(getattr(new, part), getattr(old, part))
