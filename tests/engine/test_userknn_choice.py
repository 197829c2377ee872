"""User-kNN as a self-evaluation candidate: its grid, its context, and a shop where the
neighbourhoods of users are the true structure."""

import numpy as np

from recommendations.engine import selection
from recommendations.engine.base import EventLog
from recommendations.engine.candidates import candidates
from tests.engine.test_selection import build, log_of, settings

FAST_AND_USERS = ("popularity", "itemknn", "rp3beta", "stan", "sequential_rules", "userknn")


def community_shop(
    seed: int = 0,
    n_items: int = 80,
    communities: int = 40,
    size: int = 30,
    members: int = 25,
    per_user: int = 18,
) -> EventLog:
    """Users in communities, each community liking its own random 30 of 80 items, so every item is
    liked by about 15 communities: one item says little about a shopper (its co-occurrences mix 15
    tastes, so item-item models and EASE blur them), a whole history says which community they
    belong to (the neighbours that share most of it). One click per session, users interleaved in
    time: no sequence to follow."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    user = 0
    for _ in range(communities):
        liked = rng.choice(n_items, size=size, replace=False)
        for _ in range(members):
            users += [user] * per_user
            items += rng.choice(liked, size=per_user, replace=False).tolist()
            user += 1
    order = rng.permutation(len(users))
    users, items = np.asarray(users)[order], np.asarray(items)[order]
    return log_of(users, items, np.arange(len(users)), n_items)


def _settings(**kw) -> selection.Settings:
    return settings(**{"only": FAST_AND_USERS, **kw})


def test_user_neighbourhoods_choose_userknn_for_known_users():
    result = selection.select(community_shop(), build, _settings())
    user = result.contexts["user"]
    assert next(iter(user.weights)) == "userknn", user.reason
    assert user.params["userknn"]["k"] in (50, 100, 200, 500, 1000)
    best_item_model = max(user.metrics[m]["objective"] for m in ("itemknn", "rp3beta"))
    assert user.metrics["userknn"]["objective"] > 1.1 * best_item_model
    assert user.metrics["chosen"]["objective"] > 1.1 * user.metrics["default"]["objective"]


def test_userknn_is_scored_and_chosen_for_known_users_only():
    result = selection.select(community_shop(), build, _settings(max_evaluations=0))
    session = result.contexts["session"]
    assert "userknn" not in session.metrics and "userknn" not in session.weights
    assert set(result.contexts["user"].metrics["userknn"]) == {"recent", "random", "objective"}


def test_the_userknn_grid_spans_the_usual_ranges_default_first():
    log = community_shop(communities=4)
    pool = candidates(build(log))
    userknn = pool["userknn"]
    assert userknn.kind == "matrix"
    assert userknn.contexts == ("user",)
    assert userknn.serves("user") and not userknn.serves("session") and not userknn.serves("similar")
    assert userknn.grid[0] == {"k": 100, "shrink": 0.0}
    ks = {p["k"] for p in userknn.grid}
    shrinks = {p["shrink"] for p in userknn.grid}
    assert min(ks) == 50 and max(ks) == 1000 and len(ks) >= 4
    assert min(shrinks) == 0.0 and max(shrinks) == 1000.0 and len(shrinks) >= 4
    assert len(userknn.grid) == len(ks) * len(shrinks)  # every combination, each once
    # the other candidates still serve every context
    assert all(c.contexts is None for n, c in pool.items() if n != "userknn")
    fitted = userknn.fit({"k": 50, "shrink": 10.0}, build(log), None)
    assert (fitted.k, fitted.shrink, fitted.exclude_history) == (50, 10.0, True)


def test_userknn_is_priced_by_its_work_not_as_a_free_ranking():
    from recommendations.engine import cost

    log = community_shop()
    matrix = build(log)
    shape = cost.Shape.of(matrix, len(log.items), 400)
    assert shape.n_users == matrix.shape[0]
    assert shape.item_pairs == float((np.bincount(matrix.indices, minlength=matrix.shape[1]) ** 2).sum())
    ranking = cost.price("popularity", {}, shape)
    assert cost.price("userknn", {"k": 100}, shape) > 2 * ranking
    bigger = cost.Shape.of(build(community_shop(members=50)), 2 * len(log.items), 400)
    assert cost.price("userknn", {"k": 100}, bigger) > cost.price("userknn", {"k": 100}, shape)
