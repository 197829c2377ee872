import numpy as np
import scipy.sparse as sp
from numpy.testing import assert_allclose

from recommendations.engine.ease import EASE, choose_item_model, ease_memory_bytes


def data(seed=0, shape=(150, 40)):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix((rng.random(shape) < 0.15).astype(np.float32))


def test_matches_direct_numpy_solve():
    x = data()
    l2 = 20.0
    model = EASE(l2=l2, dtype=np.float64).fit(x)
    xd = x.toarray().astype(np.float64)
    p = np.linalg.inv(xd.T @ xd + l2 * np.eye(40))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0)
    assert_allclose(model.weights, expected, atol=1e-9)
    assert_allclose(model.score(x[:5]), xd[:5] @ expected, atol=1e-9)


def test_weights_solve_the_constrained_ridge_problem():
    """Each column is the ridge regression of that item on the others (diag 0), checked directly."""
    x = data(seed=1)
    l2 = 5.0
    b = EASE(l2=l2, dtype=np.float64).fit(x).weights
    xd = x.toarray().astype(np.float64)
    for j in (0, 7, 39):
        others = np.setdiff1d(np.arange(40), [j])
        a = xd[:, others]
        w = np.linalg.solve(a.T @ a + l2 * np.eye(39), a.T @ xd[:, j])
        assert_allclose(b[others, j], w, atol=1e-8)
        assert b[j, j] == 0


def test_float32_close_to_float64():
    x = data(seed=2)
    assert_allclose(EASE(dtype=np.float32).fit(x).weights, EASE(dtype=np.float64).fit(x).weights, atol=1e-5)


def test_choose_item_model_by_catalogue_size():
    assert choose_item_model(500) == "ease"
    assert choose_item_model(10_000) == "ease"
    assert choose_item_model(10_001) == "itemknn"
    assert choose_item_model(20_000) == "itemknn"
    assert choose_item_model(20_000, max_ease_items=20_000) == "ease"
    assert choose_item_model(5_000, max_ease_items=1_000) == "itemknn"
    assert ease_memory_bytes(20_000) == 3_200_000_000
