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


def noisy_shop(seed=0, n_users=200, n_items=300, groups=6, per_user=6, noise=3):
    """Weak taste (6 clicks in one of 6 groups of 50 items) plus 3 random clicks per user."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(n_users):
        liked = np.flatnonzero(np.arange(n_items) % groups == u % groups)
        users += [u] * (per_user + noise)
        items += rng.choice(liked, size=per_user, replace=False).tolist()
        items += rng.choice(n_items, size=noise, replace=False).tolist()
    order = rng.permutation(len(users))
    users, items = np.asarray(users)[order], np.asarray(items)[order]
    return log_of(users, items, np.arange(len(users)), n_items)


def chain_shop(seed=0, n_sessions=1500, n_items=60, length=6):
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
            "max_evaluations": 10,
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
    # the next click is the chain's next item (rules: 1.0); item-kNN only knows the neighbours
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
    loose = selection.select(log, build, settings(margin=0.0, margin_se=0.0, budget_seconds=0.0))
    strict = selection.select(log, build, settings(margin=10.0, budget_seconds=0.0))
    assert len(strict.contexts["user"].weights) == 1
    assert "no addition beats" in strict.contexts["user"].reason
    assert len(loose.contexts["user"].weights) >= len(strict.contexts["user"].weights)


def test_the_search_is_a_count_of_evaluations_whatever_the_clock():
    log = taste_shop(seed=2, n_users=300)
    calm = selection.select(log, build, settings(max_evaluations=7))
    ticks = iter(np.arange(0, 1e6, 50.0))  # a loaded machine: 50 s pass between two looks at the clock
    loaded = selection.select(log, build, settings(max_evaluations=7), clock=lambda: next(ticks))
    assert calm.evaluated == loaded.evaluated == len(FAST) + 7
    for context in ("user", "session"):
        assert calm.contexts[context].weights == loaded.contexts[context].weights
        assert calm.contexts[context].params == loaded.contexts[context].params
        assert calm.contexts[context].metrics == loaded.contexts[context].metrics
    more = selection.select(log, build, settings(max_evaluations=20))
    assert more.evaluated == len(FAST) + 20


def test_the_time_fuse_only_stops_a_runaway_search_and_says_so():
    log = taste_shop(seed=2, n_users=300)
    ticks = iter(np.arange(0, 1e6, 1.0))
    fused = selection.select(log, build, settings(budget_seconds=3.0), clock=lambda: next(ticks))
    assert len(FAST) < fused.evaluated < len(FAST) + 10
    assert any("fuse" in note and "machine" in note for note in fused.notes)
    defaults = selection.select(log, build, settings(budget_seconds=0.0))
    assert defaults.evaluated == len(FAST)
    assert any("default only" in note for note in defaults.notes)


def test_search_order_changes_one_hyper_parameter_then_combines_the_best():
    grid = [{"a": a, "b": b} for a in (1, 2, 3) for b in ("x", "y", "z")]
    worth = {(1, "x"): 0.1, (2, "x"): 0.3, (3, "x"): 0.2, (1, "y"): 0.15, (1, "z"): 0.05}
    tried = [(grid[0], worth[(1, "x")])]
    order = selection.search_order(grid, tried, np.random.default_rng(0))
    first = [next(order) for _ in range(4)]
    assert first == [{"a": 1, "b": "y"}, {"a": 1, "b": "z"}, {"a": 2, "b": "x"}, {"a": 3, "b": "x"}]
    tried += [(p, worth[(p["a"], p["b"])]) for p in first]
    assert next(order) == {"a": 2, "b": "y"}  # each axis at its best value
    tried.append(({"a": 2, "b": "y"}, 0.5))
    rest = list(order)  # then the neighbours of (2, y), then the others
    assert rest[:2] == [{"a": 2, "b": "z"}, {"a": 3, "b": "y"}]
    seen = [*first, {"a": 2, "b": "y"}, *rest]
    assert len(seen) == len(grid) - 1 and grid[0] not in seen
    assert sorted(map(repr, seen)) == sorted(map(repr, grid[1:]))


def test_paired_gain_tells_a_real_gain_from_noise():
    rng = np.random.default_rng(5)
    old = {"s": rng.random(400)}
    noise = {"s": old["s"] + rng.normal(0, 0.2, 400)}
    gain, se = selection.paired_gain(noise, old, ("s",))
    assert abs(gain) < 2 * se
    real = {"s": old["s"] * 1.2}
    gain, se = selection.paired_gain(real, old, ("s",))
    assert gain == pytest.approx(np.log(1.2))
    assert gain > 10 * se


def test_a_blend_that_wins_on_noise_is_refused():
    # ~200 queries of a weak signal: among ~30 tries per step the greedy blend finds a "better"
    # blend by chance alone (gains of 0.2-0.5 standard errors)
    log = noisy_shop(seed=1)
    anything = selection.select(log, build, settings(margin=0.0, margin_se=0.0, max_evaluations=0))
    careful = selection.select(log, build, settings(margin=0.0, max_evaluations=0))
    assert len(anything.contexts["user"].weights) > 1, anything.contexts["user"].reason
    assert len(careful.contexts["user"].weights) == 1, careful.contexts["user"].reason
    assert "standard errors" in careful.contexts["user"].reason


def test_a_split_with_too_few_queries_is_left_out_of_the_objective():
    # 230 users, 200 take the "recent" split: the "random" split gets the few left
    log = noisy_shop(seed=7, n_users=230)
    result = selection.select(log, build, settings(min_split_queries=40, max_evaluations=0))
    user = result.contexts["user"]
    assert 0 < user.n_queries["random"] < 40 <= user.n_queries["recent"]
    assert "ignored" in user.reason and "random" in user.reason
    for name in FAST:
        assert user.metrics[name]["objective"] == pytest.approx(user.metrics[name]["recent"], abs=1e-8)
    both = selection.select(log, build, settings(min_split_queries=1, max_evaluations=0))
    assert both.contexts["user"].metrics["itemknn"]["objective"] != pytest.approx(
        both.contexts["user"].metrics["itemknn"]["recent"]
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


def test_a_model_keeps_its_default_hyper_parameters_unless_the_gain_is_beyond_noise():
    log = noisy_shop(seed=1)
    loose = selection.select(log, build, settings(margin_se=0.0, max_evaluations=30))
    careful = selection.select(log, build, settings(margin_se=2.0, max_evaluations=30))
    grids = {n: c.grid[0] for n, c in selection.candidates(build(log)).items()}
    moved = [n for n, p in loose.contexts["user"].params.items() if p != grids[n]]
    assert moved, loose.contexts["user"].params
    assert all(careful.contexts["user"].params[n] == grids[n] for n in careful.contexts["user"].params)


def test_blend_ndcg_breaks_ties_to_the_lower_item_as_the_offline_ranking_does():
    import scipy.sparse as sp

    rng = np.random.default_rng(8)
    dense = [rng.integers(0, 3, (40, 30)).astype(float) for _ in range(2)]  # many equal scores
    targets = [rng.choice(30, size=int(rng.integers(1, 4)), replace=False) for _ in range(40)]
    lists = [(sp.csr_matrix(d), w) for d, w in zip(dense, (1.0, 0.5), strict=True)]
    got = selection.blend_ndcg(lists, targets, 10)
    total = dense[0] + 0.5 * dense[1]
    ranked = np.full((40, 10), -1)
    for i, row in enumerate(total):
        order = [j for j in np.lexsort((np.arange(30), -row)) if row[j] > 0][:10]  # brute force
        ranked[i, : len(order)] = order
    assert got == pytest.approx(validation.ndcg(ranked, targets, 10))


def test_the_chosen_validation_fits_are_kept_for_the_rebuild_to_reuse():
    log = taste_shop(seed=9)
    result = selection.select(log, build, settings(keep_fitted=True, max_evaluations=6))
    chosen = {(m, selection.param_key(p)) for c in result.contexts.values() for m, p in c.params.items()}
    assert chosen and set(result.fitted) == chosen
    assert "fitted" not in result.as_dict()
    train, _ = selection.make_splits(log, settings())
    assert result.held_out_share == pytest.approx(1 - len(train.items) / len(log.items), abs=1e-4)
    assert result.held_out_share < 0.2  # only the queried users' and sessions' events
    name, key = next(k for k in chosen if k[0] == "itemknn")
    params = result.contexts["user"].params["itemknn"]
    fresh = selection.candidates(build(train))["itemknn"].fit(params, build(train), None)
    np.testing.assert_allclose(result.fitted[(name, key)].similarity.toarray(), fresh.similarity.toarray())
    assert not selection.select(log, build, settings(max_evaluations=6)).fitted  # only when asked


def test_a_rebuild_goes_on_searching_from_the_previous_choice():
    log = taste_shop(seed=2, n_users=300)
    grid = selection.candidates(build(log))["rp3beta"].grid
    before = {"k": 200, "alpha": 0.7, "beta": 0.2, "normalize": True}
    assert before in grid and before != grid[0]
    result = selection.select(
        log, build, settings(max_evaluations=3), previous={"rp3beta": before, "nothing": {"x": 1}}
    )
    assert result.evaluated == len(FAST) + 3
    assert any("previous choice of rp3beta" in note for note in result.notes)
    # the search's first points change one hyper-parameter of the previous choice, not the default
    order = selection.search_order(grid, [(grid[0], 0.1), (before, 0.2)], np.random.default_rng(0), before)
    first = [next(order) for _ in range(5)]
    assert all(sum(p[k] != before[k] for k in p) == 1 for p in first)
    cold = selection.search_order(grid, [(grid[0], 0.1)], np.random.default_rng(0))
    assert all(sum(p[k] != grid[0][k] for k in p) == 1 for p in [next(cold) for _ in range(5)])


def test_a_split_may_lose_within_noise_but_not_beyond_it():
    rng = np.random.default_rng(10)
    old = rng.random(500)
    assert not selection._significant_loss(old + rng.normal(0, 0.2, 500), old, 2.0)  # noise
    assert selection._significant_loss(old * 0.8, old, 2.0)  # a real loss
