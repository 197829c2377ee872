"""What the self-evaluation costs (issue 11): the same choice for less work, and a search bounded
by a deterministic cost model, never by the clock."""

import numpy as np
import scipy.sparse as sp

from recommendations.engine import returning, selection, validation
from recommendations.engine.base import EventLog
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
