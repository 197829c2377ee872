import numpy as np
import scipy.sparse as sp
from numpy.testing import assert_allclose

from recommendations.engine.base import top_k
from recommendations.engine.userknn import UserKNN


def two_groups(seed=0, n_users=60, n_items=20, density=0.4):
    """Users 0..29 only touch items 0..9, users 30..59 only items 10..19."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_users, n_items), dtype=np.float32)
    half_u, half_i = n_users // 2, n_items // 2
    dense[:half_u, :half_i] = rng.random((half_u, half_i)) < density
    dense[half_u:, half_i:] = rng.random((n_users - half_u, n_items - half_i)) < density
    return sp.csr_matrix(dense * rng.integers(1, 4, dense.shape))


def random_matrix(seed, shape, density):
    rng = np.random.default_rng(seed)
    m = sp.random(*shape, density=density, random_state=rng, format="csr", dtype=np.float32)
    m.data = np.ceil(m.data * 5)
    return m


def test_two_groups_recommend_from_own_group():
    m = two_groups()
    model = UserKNN(k=5).fit(m)
    scores = model.score(m, exclude_users=np.arange(m.shape[0]))
    for user in (1, 7, 31, 58):
        best = top_k(scores[user], 3, exclude=m[user].indices)
        group = set(range(10)) if user < 30 else set(range(10, 20))
        assert set(best.tolist()) <= group


def test_new_user_history_row():
    m = two_groups()
    model = UserKNN(k=5).fit(m)
    new = sp.csr_matrix(([1.0, 1.0], ([0, 0], [12, 15])), shape=(1, 20))
    scores = model.score(new)[0]
    assert scores[10:].sum() > 0
    assert_allclose(scores[:10], 0)


def test_matches_brute_force():
    m = random_matrix(seed=5, shape=(80, 40), density=0.15)
    k = 6
    model = UserKNN(k=k).fit(m)
    history = random_matrix(seed=6, shape=(5, 40), density=0.2)
    x, h = m.toarray().astype(np.float64), history.toarray().astype(np.float64)
    sims = (h @ x.T) / (np.linalg.norm(h, axis=1)[:, None] * np.linalg.norm(x, axis=1)[None, :] + 1e-300)
    for r in range(5):
        keep = np.argsort(-sims[r], kind="stable")[:k]
        keep = keep[sims[r, keep] > 0]
        expected = sims[r, keep] @ x[keep]
        assert_allclose(model.score(history[r])[0], expected, rtol=1e-4)


def test_exclude_self():
    m = random_matrix(seed=5, shape=(80, 40), density=0.15)
    model = UserKNN(k=3).fit(m)
    with_self = model.neighbours(m[:4])
    without = model.neighbours(m[:4], exclude_users=np.arange(4))
    for r in range(4):
        assert with_self[r, r] > 0.99
        assert without[r, r] == 0


def test_exclude_history_zeroes_each_rows_own_items_and_nothing_else():
    m = two_groups()
    plain = UserKNN(k=5).fit(m).score(m[:4])
    without = UserKNN(k=5, exclude_history=True).fit(m).score(m[:4])
    own = m[:4].toarray() > 0
    assert not without[own].any()
    assert_allclose(without[~own], plain[~own])
    assert plain[own].max() >= plain[~own].max()  # the own items are what set the maximum
