import numpy as np
import pytest

from recommendations.engine import selection, validation
from recommendations.engine.base import EventLog
from recommendations.engine.interactions import build_matrix

FAST = ("popularity", "itemknn", "rp3beta", "stan", "sequential_rules")


def log_of(users, items, sessions, n_items):
    users = np.asarray(users, np.int64)
    return EventLog(
        users=users,
        items=np.asarray(items, np.int64),
        kinds=np.zeros(len(users), np.int16),
        timestamps=np.arange(len(users), dtype=float),
        sessions=np.asarray(sessions, np.int64),
        kind_names=("view",),
        n_users=int(users.max()) + 1,
        n_items=n_items,
    )


def taste_shop(seed=0, n_users=500, n_items=80, groups=8, per_user=10):
    """Long-term taste, no order: each user clicks random items of one group, one per session."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(n_users):
        liked = np.flatnonzero(np.arange(n_items) % groups == u % groups)
        users += [u] * per_user
        items += rng.choice(liked, size=per_user, replace=False).tolist()
    order = rng.permutation(len(users))  # interleave users in time
    users, items = np.asarray(users)[order], np.asarray(items)[order]
    return log_of(users, items, np.arange(len(users)) // 1, n_items)


def chain_shop(seed=0, n_sessions=600, n_items=60, length=6):
    """Pure sequence: every session walks i, i+1, i+2, ... from a random start (each visitor
    anonymous and new), so only the last click tells what comes next."""
    rng = np.random.default_rng(seed)
    users, items, sessions = [], [], []
    for s in range(n_sessions):
        start = int(rng.integers(0, n_items))
        users += [s] * length
        items += [(start + i) % n_items for i in range(length)]
        sessions += [s] * length
    return log_of(users, items, sessions, n_items)


def build(log):
    return build_matrix(log, {"view": 1.0})


def settings(**kw):
    return selection.Settings(
        **{
            "only": FAST,
            "max_queries": 200,
            "min_queries": 50,
            "budget_seconds": 5.0,
            "contexts": ("user", "session"),
            **kw,
        }
    )


def test_long_term_taste_chooses_collaborative_filtering_for_known_users():
    result = selection.select(taste_shop(), build, settings())
    user = result.contexts["user"]
    first = next(iter(user.weights))
    assert first in {"itemknn", "rp3beta"}, user.reason
    assert user.metrics["chosen"]["objective"] >= user.metrics["default"]["objective"]
    assert user.metrics["chosen"]["objective"] > 3 * user.metrics["popularity"]["objective"]


def test_a_sequential_shop_chooses_a_sequence_model_for_visitors():
    result = selection.select(chain_shop(), build, settings())
    session = result.contexts["session"]
    # the next click is the chain's next item (rules: 1.0), a random held-out click of the chain
    # is any neighbour (item-kNN); the blend needs a sequence model to do well on both
    assert session.metrics["sequential_rules"]["next_click"] == pytest.approx(1.0)
    assert {"stan", "sequential_rules"} & set(session.weights), session.reason
    assert session.metrics["chosen"]["next_click"] > session.metrics["itemknn"]["next_click"]
    for name in FAST:
        assert session.metrics["chosen"]["objective"] >= session.metrics[name]["objective"]


def test_too_little_data_keeps_the_default_and_says_so():
    small = taste_shop(n_users=20)
    result = selection.select(small, build, settings(min_queries=100))
    for context, choice in result.contexts.items():
        assert choice.weights == selection.DEFAULT_BLENDS[context]
        assert "too little data" in choice.reason
    assert result.evaluated == 0


def test_a_richer_blend_must_beat_a_simpler_one_by_the_margin():
    log = taste_shop(seed=1)
    loose = selection.select(log, build, settings(margin=0.0, budget_seconds=0.0))
    strict = selection.select(log, build, settings(margin=10.0, budget_seconds=0.0))
    assert len(strict.contexts["user"].weights) == 1
    assert "no addition beats" in strict.contexts["user"].reason
    assert len(loose.contexts["user"].weights) >= len(strict.contexts["user"].weights)


def test_seeded_and_time_bounded():
    log = taste_shop(seed=2, n_users=300)
    ticks = iter(np.arange(0, 1000, 1.0))
    a = selection.select(log, build, settings(budget_seconds=0.0), clock=lambda: next(ticks))
    assert a.evaluated == len(FAST)  # only the defaults once the budget is gone
    assert any("time budget" in note for note in a.notes)
    b = selection.select(log, build, settings(budget_seconds=0.0))
    assert a.contexts["user"].weights == b.contexts["user"].weights
    assert a.contexts["user"].metrics == b.contexts["user"].metrics
    wider = selection.select(log, build, settings(budget_seconds=60.0))
    assert wider.evaluated > a.evaluated
    assert (
        wider.contexts["user"].metrics["chosen"]["objective"]
        >= a.contexts["user"].metrics["chosen"]["objective"] * 0.99
    )


def test_the_splits_are_disjoint_and_share_one_training_log():
    log = taste_shop(seed=3)
    train, splits = selection.make_splits(log, settings())
    users = [set(splits[n].queries.users.tolist()) for n in ("recent", "random")]
    assert users[0] and users[1] and not users[0] & users[1]
    assert all(s.train is train for s in splits.values())
    for name in ("recent", "random"):
        q = splits[name].queries
        for user, seq, targets in zip(q.users, q.sequences, q.targets, strict=True):
            assert sorted(train.items[train.users == user].tolist()) == sorted(seq.tolist())
            assert not np.isin(targets, seq).any()


def test_blend_ndcg_matches_ranking_the_dense_weighted_sum():
    rng = np.random.default_rng(4)
    dense = [rng.random((30, 25)) * (rng.random((30, 25)) < 0.4) for _ in range(2)]
    targets = [rng.choice(25, size=2, replace=False) for _ in range(30)]
    import scipy.sparse as sp

    lists = [(sp.csr_matrix(d), w) for d, w in zip(dense, (1.0, 0.3), strict=True)]
    got = selection.blend_ndcg(lists, targets, 5)
    expected = validation.ndcg(validation.ranked(dense[0] + 0.3 * dense[1], 5), targets, 5)
    assert got == pytest.approx(expected)
