"""What the self-evaluation costs (issue 11): the same choice for less work, and a search bounded
by a deterministic cost model, never by the clock."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine import cost, returning, selection, validation
from recommendations.engine.base import EventLog, unique
from recommendations.engine.evaluator import _Evaluator
from recommendations.engine.interactions import build_matrix

FAST = ("popularity", "itemknn", "rp3beta", "stan", "sequential_rules")


def taste_shop(seed=0, n_users=500, n_items=80, groups=8, per_user=10):
    """Long-term taste, no order: each user clicks random items of one group, one per session."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate(
        [rng.choice(np.arange(u % groups, n_items, groups), per_user, replace=False) for u in range(n_users)]
    )
    order = rng.permutation(len(users))  # interleave users in time
    return EventLog(
        users=users[order], items=items[order], kinds=np.zeros(len(users), np.int16),
        timestamps=np.arange(len(users), dtype=float), sessions=np.arange(len(users)),
        kind_names=("view",), n_users=n_users, n_items=n_items,
    )  # fmt: skip


def build(log):
    return build_matrix(log, {"view": 1.0})


def settings(**kw):
    base = {"only": FAST, "max_queries": 200, "min_queries": 50, "max_evaluations": 10}
    return selection.Settings(**{**base, "contexts": ("user", "session"), **kw})


def _returning_reference(log, n_new, max_queries, seed, min_history=2, skip=frozenset()):
    """The per-user loop returning_split replaced: the same users, in the same order."""
    rng = np.random.default_rng(seed)
    order, starts, stops = validation._by_user(log)
    n_fresh, found = 0, []
    for slot in rng.permutation(len(starts)).tolist():
        rows = order[starts[slot] : stops[slot]]
        if int(log.users[rows[0]]) in skip:
            continue
        held = log.timestamps[rows] >= log.timestamps[rows[-1]]
        history = np.unique(log.items[rows[~held]])
        if len(history) < min_history:
            continue
        if np.setdiff1d(log.items[rows[held]], history).size:
            n_fresh += 1
        else:
            found.append(int(log.users[rows[0]]))
    wanted = (
        min(max_queries, round(n_new * len(found) / n_fresh)) if n_fresh else min(max_queries, len(found))
    )
    return found[:wanted]


def test_returning_split_takes_the_users_a_per_user_loop_takes():
    rng = np.random.default_rng(4)
    n = 3000
    users = rng.integers(0, 150, n)
    items = rng.integers(0, 12, n)  # few items: many users come back to one they touched
    stamps = np.round(rng.uniform(0, 50, n))  # ties: several newest events per user
    log = EventLog(
        users=users, items=items, kinds=np.zeros(n, np.int16), timestamps=stamps,
        sessions=np.arange(n), kind_names=("view",), n_users=150, n_items=12,
    )  # fmt: skip
    for n_new, skip in ((40, frozenset()), (10, frozenset(range(0, 150, 3))), (0, frozenset({1}))):
        split = returning.returning_split(log, n_new, max_queries=60, seed=7, skip=skip)
        assert split.queries.users.tolist() == _returning_reference(log, n_new, 60, 7, skip=skip)
        q = split.queries
        for user, seq, target in zip(q.users, q.sequences, q.targets, strict=True):
            assert np.isin(target, seq).all()  # only items the user had touched
            assert user not in skip


def test_ranked_keeps_ties_to_the_lower_item_and_drops_what_cannot_be_ranked():
    scores = np.array([[0.5, np.nan, 0.5, np.inf, 0.0, -1.0, 0.7, 0.5], [0.0] * 8])
    exclude = sp.csr_matrix(([1.0], ([0], [6])), shape=(2, 8))
    np.testing.assert_array_equal(validation.ranked(scores, 4, exclude), [[0, 2, 7, -1], [-1, -1, -1, -1]])
    np.testing.assert_array_equal(validation.ranked(scores.astype(np.float32), 2), [[6, 0], [-1, -1]])


def test_the_re_show_choice_scores_the_kept_fits_instead_of_fitting_again(monkeypatch):
    log = taste_shop(seed=9)
    fits = []
    original = selection.Candidate.fit

    def counted(self, params, matrix, sessions):
        fits.append((self.name, selection.param_key(params)))
        return original(self, params, matrix, sessions)

    monkeypatch.setattr(selection.Candidate, "fit", counted)
    kept = selection.select(log, build, settings(keep_fitted=True, max_evaluations=4))
    assert len(fits) == len(set(fits)) == kept.evaluated  # every point fitted once, none again
    assert "returning" in kept.contexts["user"].n_queries
    fits.clear()
    plain = selection.select(log, build, settings(max_evaluations=4))
    assert plain.contexts["user"].weights == kept.contexts["user"].weights
    assert plain.contexts["user"].reshow == kept.contexts["user"].reshow


def test_prices_follow_the_work_of_each_point_and_the_size_of_the_data():
    small = cost.Shape(nnz=60_000, pairs=1.8e6, n_items=2_000, n_events=100_000, n_queries=1_500)
    large = cost.Shape(nnz=750_000, pairs=5.7e7, n_items=20_000, n_events=1_000_000, n_queries=1_500)
    for shape in (small, large):
        assert cost.price("ials", {"factors": 128}, shape) > cost.price("ials", {"factors": 64}, shape)
        assert cost.price("itemknn", {"k": 1000}, shape) > cost.price("itemknn", {"k": 100}, shape)
        assert cost.price("ials", {"factors": 64}, shape) > cost.price("itemknn", {"k": 100}, shape)
        assert cost.price("popularity", {}, shape) < cost.price("sequential_rules", {}, shape)
    for name, params in (("ials", {"factors": 64}), ("rp3beta", {"k": 200}), ("stan", {}), ("ease", {})):
        assert cost.price(name, params, large) > cost.price(name, params, small)
        assert cost.price(name, params, large) == cost.price(name, dict(params), large)


def test_a_cost_budget_bounds_the_search_by_price_and_serves_the_cheapest_so_far_first():
    log = taste_shop(seed=3, n_users=400)
    calls = []
    original = cost.Budget.spend

    def spend(self, name, params):
        fits = original(self, name, params)
        calls.append((name, fits, self.total, self.allowance, dict(self.spent)))
        return fits

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cost.Budget, "spend", spend)
        result = selection.select(log, build, settings(max_evaluations=50, search_cost=0.05))
    charged = [c for c in calls if c[1]]
    assert charged and len(charged) < 50  # the price stopped it, not the count
    assert all(total <= allowance + 1e-9 for _, _, total, allowance, _ in calls)
    assert result.evaluated == len(FAST) + len(charged)
    # cost-aware round robin: whoever is charged had spent least of those still searching (the
    # ones charged again later)
    before = dict.fromkeys(FAST, 0.0)
    for i, (name, _, _, _, spent) in enumerate(charged):
        later = {c[0] for c in charged[i:]}
        assert before[name] == min(before[n] for n in later)
        before = spent
    assert len({c[0] for c in charged}) > 1
    assert any("search cost" in note for note in result.notes)
    none = selection.select(log, build, settings(max_evaluations=50, search_cost=0.0))
    assert none.evaluated == len(FAST)


def test_a_cost_budget_chooses_the_same_on_a_slow_machine():
    log = taste_shop(seed=5, n_users=400)
    ticks = iter(range(0, 10**9, 7))  # every clock reading 7 s later: a very loaded machine
    s = settings(max_evaluations=50, search_cost=0.5, budget_seconds=10**8)
    slow = selection.select(log, build, s, clock=lambda: float(next(ticks)))
    fast = selection.select(log, build, s)
    assert slow.evaluated == fast.evaluated
    assert {c: (x.weights, x.params) for c, x in slow.contexts.items()} == {
        c: (x.weights, x.params) for c, x in fast.contexts.items()
    }


def test_a_rebuild_keeps_the_live_choice_as_baseline_without_refitting_the_default(monkeypatch):
    log = taste_shop(seed=2, n_users=300)
    grid = selection.candidates(build(log))["rp3beta"].grid
    live = {"k": 200, "alpha": 0.7, "beta": 0.2, "normalize": True}
    result = selection.select(
        log,
        build,
        settings(max_evaluations=0, keep_fitted=True, keep_baseline=("rp3beta",)),
        previous={"rp3beta": live},
    )
    assert result.evaluated == len(FAST)  # one fit per candidate: the live choice in the default's place
    assert (
        result.baselines["rp3beta"] == live
        and result.baselines["itemknn"] == selection.candidates(build(log))["itemknn"].grid[0]
    )
    assert ("rp3beta", selection.param_key(live)) in result.fitted
    order = list(selection.search_order(grid, [(live, 0.2)], np.random.default_rng(0), live))
    assert grid[0] in order and live not in order  # the default is one more point to try


def test_unique_is_numpys_sorted_unique():
    rng = np.random.default_rng(1)
    for values in (rng.integers(0, 10**12, 5000), rng.integers(-5, 5, 300), np.empty(0, np.int64)):
        np.testing.assert_array_equal(unique(values), np.unique(values))


def test_a_partial_score_is_not_scored_again_by_the_full_score(monkeypatch):
    log = taste_shop(seed=6)
    s = settings()
    train, splits = selection.make_splits(log, s)
    stan = selection.candidates(build(train))["stan"]
    fresh = _Evaluator(train, splits, build, s).score(stan, stan.grid[0])
    ev = _Evaluator(train, splits, build, s)
    scored, fits = [], []
    real_lists, real_fit = _Evaluator._split_lists, selection.Candidate.fit
    monkeypatch.setattr(
        _Evaluator, "_split_lists", lambda self, c, m, n: scored.append(n) or real_lists(self, c, m, n)
    )
    monkeypatch.setattr(selection.Candidate, "fit", lambda self, *a: fits.append(1) or real_fit(self, *a))
    user = ("recent", "random")
    ev.score(stan, stan.grid[0], only=user)
    full = ev.score(stan, stan.grid[0])
    assert sorted(scored) == sorted(ev.splits) and fits == [1]  # each split once, one fit
    for name in ev.splits:
        np.testing.assert_array_equal(full.per_query[name], fresh.per_query[name])
        assert (full.lists[name] != fresh.lists[name]).nnz == 0
