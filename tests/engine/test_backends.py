"""The optional ``implicit`` backend gives our models' answers, and numpy always works without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from recommendations.engine import backends
from recommendations.engine.als import ALS
from recommendations.engine.base import top_k
from recommendations.engine.itemknn import ItemKNN, weigh
from recommendations.engine.similarity import knn_block


def shop(seed: int = 0, n_users: int = 400, n_items: int = 150, groups: int = 5) -> sp.csr_matrix:
    """Users who mostly buy inside one of ``groups`` item groups; continuous confidences (no ties)."""
    rng = np.random.default_rng(seed)
    user_group = rng.integers(0, groups, n_users)
    item_group = np.arange(n_items) % groups
    same = user_group[:, None] == item_group[None, :]
    seen = rng.random((n_users, n_items)) < np.where(same, 0.25, 0.02)
    values = np.where(seen, rng.uniform(0.5, 5.0, (n_users, n_items)), 0.0)
    return sp.csr_matrix(values.astype(np.float32))


@pytest.fixture
def without_implicit(monkeypatch: pytest.MonkeyPatch):
    """``import implicit`` fails (a None entry in sys.modules blocks the import)."""
    for name in ("implicit", "implicit.cpu.als", "implicit.nearest_neighbours"):
        monkeypatch.setitem(sys.modules, name, None)
    backends.implicit_available.cache_clear()
    yield
    backends.implicit_available.cache_clear()


def test_resolve_picks_implicit_when_installed():
    assert backends.implicit_available()  # the test stack installs the extra (requirements.txt)
    assert backends.resolve("auto") == "implicit"
    assert backends.resolve("implicit") == "implicit"
    assert backends.resolve("numpy") == "numpy"


@pytest.mark.usefixtures("without_implicit")
def test_resolve_falls_back_to_numpy_without_implicit():
    assert backends.implicit_available() is False
    assert backends.resolve("auto") == "numpy"
    assert backends.resolve("numpy") == "numpy"
    with pytest.raises(backends.BackendUnavailable, match="pip install"):
        backends.resolve("implicit")


def test_resolve_rejects_an_unknown_backend():
    with pytest.raises(ValueError, match="unknown engine backend"):
        backends.resolve("torch")


@pytest.mark.parametrize("similarity", ["cosine", "bm25"])
def test_implicit_neighbours_equal_ours(similarity):
    matrix = shop()
    ours = ItemKNN(k=10, similarity=similarity).fit(matrix).similarity
    weighted, left, right = weigh(matrix, similarity)
    assert left is None and right is None  # pre-scaled: plain dot products
    theirs = backends.itemknn_similarity(weighted, 10)
    assert_array_equal(ours.indptr, theirs.indptr)
    assert_array_equal(ours.indices, theirs.indices)
    assert_allclose(ours.data, theirs.data, rtol=1e-5)
    assert not theirs.diagonal().any()  # the item itself is never its own neighbour


def test_implicit_neighbours_with_ties_at_the_top_keep_k_and_never_the_item_itself():
    # items 0-3 are identical columns: every one of them is tied with itself at similarity 1
    base = shop(seed=5, n_items=20).toarray()
    base[:, 1:4] = base[:, [0]]
    weighted, _, _ = weigh(sp.csr_matrix(base), "cosine")
    full = (weighted.T @ weighted).toarray()
    rows, cols, vals = backends.knn_triples(weighted, 2)
    assert not np.any(rows == cols)
    assert np.bincount(rows, minlength=20).max() == 2
    assert_allclose(vals, full[rows, cols], rtol=1e-5)
    for item in range(4):  # its two neighbours are two of its identical twins
        assert set(cols[rows == item]) < {0, 1, 2, 3} - {item} | {item}
        assert_allclose(vals[rows == item], 1.0, rtol=1e-5)


def test_knn_block_uses_implicit_only_for_the_whole_prescaled_matrix():
    matrix = shop(seed=1)
    weighted, left, right = weigh(matrix, "cosine")
    n = matrix.shape[1]
    numpy_rows = knn_block(weighted, left, right, 0, n, 10)
    implicit_rows = knn_block(weighted, left, right, 0, n, 10, backend="implicit")
    for a, b in zip(numpy_rows[:2], implicit_rows[:2], strict=True):
        assert_array_equal(np.sort(a), np.sort(b))
    # a partial block, or a similarity with denominators (shrink), stays on our code: exact equality
    part = knn_block(weighted, left, right, 20, 60, 10, backend="implicit")
    assert_array_equal(part[2], knn_block(weighted, left, right, 20, 60, 10)[2])
    raw, l2, r2 = weigh(matrix, "cosine", shrink=5.0)
    assert_array_equal(
        knn_block(raw, l2, r2, 0, n, 10, shrink=5.0, backend="implicit")[2],
        knn_block(raw, l2, r2, 0, n, 10, shrink=5.0)[2],
    )


def _recall(model: ALS, train: sp.csr_matrix, held: dict[int, int]) -> float:
    scores = model.user_factors @ model.item_factors.T
    hits = [held[u] in top_k(scores[u], 10, exclude=train[u].indices) for u in held]
    return float(np.mean(hits))


def _split(matrix: sp.csr_matrix, seed: int = 3) -> tuple[sp.csr_matrix, dict[int, int]]:
    rng = np.random.default_rng(seed)
    train = matrix.tolil(copy=True)
    held = {}
    for u in range(matrix.shape[0]):
        row = matrix[u].indices
        if len(row) >= 3:
            held[u] = int(rng.choice(row))
            train[u, held[u]] = 0
    train = train.tocsr()
    train.eliminate_zeros()
    return train, held


def test_implicit_als_matches_our_quality_and_model_shape():
    train, held = _split(shop(seed=2))
    params = {"factors": 16, "iterations": 15, "regularization": 0.05, "alpha": 1.0, "seed": 0, "threads": 2}
    ours = ALS(**params).fit(train)
    theirs = backends.fit_als(ALS(**params), train, "implicit")
    assert theirs.user_factors.shape == ours.user_factors.shape
    assert theirs.item_factors.shape == ours.item_factors.shape
    assert theirs.item_factors.dtype == np.float32
    recall_ours, recall_theirs = _recall(ours, train, held), _recall(theirs, train, held)
    assert recall_ours > 0.2  # the groups are recovered (random guessing: ~0.07)
    # equal quality within sampling noise (400 held-out items: one standard error is ~0.022)
    assert abs(recall_theirs - recall_ours) <= 0.05
    # the same objective: a trained user's factors are what an exact fold-in of their row gives
    for u in (0, 7, 99):
        folded = theirs.fold_in(train[u]) @ theirs.item_factors.T
        trained = theirs.user_factors[u] @ theirs.item_factors.T
        assert np.corrcoef(folded, trained)[0, 1] > 0.98


def test_frequency_scaled_als_is_always_ours(monkeypatch):
    train = shop(seed=6)
    monkeypatch.setattr(backends, "implicit_available", lambda: True)
    model = backends.fit_als(ALS(factors=8, iterations=3, seed=0, frequency_scaling=0.5), train, "implicit")
    reference = ALS(factors=8, iterations=3, seed=0, frequency_scaling=0.5).fit(train)
    assert_array_equal(model.item_factors, reference.item_factors)
    assert model.row_regularization(5) == reference.row_regularization(5)


@pytest.mark.usefixtures("without_implicit")
def test_numpy_backend_and_auto_fit_without_implicit():
    train = shop(seed=4)
    model = backends.fit_als(ALS(factors=8, iterations=3, seed=0), train, "auto")
    reference = ALS(factors=8, iterations=3, seed=0).fit(train)
    assert_array_equal(model.item_factors, reference.item_factors)  # it was our own fit
    with pytest.raises(backends.BackendUnavailable):
        backends.fit_als(ALS(factors=8, iterations=3), train, "implicit")


def test_engine_imports_and_falls_back_in_a_process_without_implicit():
    code = (
        "import sys; sys.modules['implicit'] = None\n"
        "from recommendations.engine import backends, similarity\n"
        "print(backends.resolve('auto'), 'implicit' in sys.modules and sys.modules['implicit'] is not None)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["numpy", "False"]
