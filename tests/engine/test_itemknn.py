import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from recommendations.engine.base import top_k
from recommendations.engine.itemknn import ItemKNN


def two_groups(seed=0, n_users=60, n_items=20, density=0.4):
    """Users 0..29 only touch items 0..9, users 30..59 only items 10..19."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_users, n_items), dtype=np.float32)
    half_u, half_i = n_users // 2, n_items // 2
    dense[:half_u, :half_i] = rng.random((half_u, half_i)) < density
    dense[half_u:, half_i:] = rng.random((n_users - half_u, n_items - half_i)) < density
    dense *= rng.integers(1, 4, dense.shape)
    return sp.csr_matrix(dense)


def random_matrix(seed=1, shape=(200, 120), density=0.08):
    rng = np.random.default_rng(seed)
    m = sp.random(*shape, density=density, random_state=rng, format="csr", dtype=np.float32)
    m.data = np.ceil(m.data * 5)
    return m


def brute_force(matrix, similarity, k, alpha=0.5, shrink=0.0):
    x = matrix.toarray().astype(np.float64)
    if similarity == "cosine":
        n = np.linalg.norm(x, axis=0)
        s = (x.T @ x) / (np.outer(n, n) + shrink)
    else:
        n = np.linalg.norm(x, axis=0)
        s = (x.T @ x) / (np.outer(n ** (2 * alpha), n ** (2 * (1 - alpha))) + shrink)
    np.fill_diagonal(s, 0)
    return s


@pytest.mark.parametrize(
    ("similarity", "alpha", "shrink"), [("cosine", 0.5, 0.0), ("cosine", 0.5, 3.0), ("asymmetric", 0.8, 1.0)]
)
def test_matches_brute_force_top_k(similarity, alpha, shrink):
    m = random_matrix()
    k = 7
    model = ItemKNN(k=k, similarity=similarity, alpha=alpha, shrink=shrink).fit(m)
    expected = brute_force(m, similarity, k, alpha, shrink)
    got = model.similarity.toarray()
    assert model.similarity.shape == (120, 120)
    assert np.all(np.diff(model.similarity.indptr) <= k)
    assert_array_equal(np.diag(got), 0)
    for i in range(120):
        row = got[i]
        kept = np.flatnonzero(row)
        assert_allclose(row[kept], expected[i, kept], rtol=1e-5)
        # nothing left out is better than the worst kept neighbour
        if len(kept) == k:
            others = np.setdiff1d(np.arange(120), np.append(kept, i))
            assert expected[i, others].max() <= row[kept].min() + 1e-6


def test_chunked_equals_unchunked():
    m = random_matrix(seed=3, shape=(300, 150), density=0.1)
    whole = ItemKNN(k=10, chunk_size=10_000, block_budget=1e12).fit(m).similarity
    tiny = ItemKNN(k=10, chunk_size=7, block_budget=50.0).fit(m).similarity
    assert_allclose(whole.toarray(), tiny.toarray(), rtol=1e-6)


def test_two_groups_recommend_from_own_group():
    m = two_groups()
    for similarity in ("cosine", "bm25", "asymmetric"):
        model = ItemKNN(k=5, similarity=similarity).fit(m)
        scores = model.score(m)
        for user in (0, 5, 33, 59):
            seen = m[user].indices
            best = top_k(scores[user], 3, exclude=seen)
            group = set(range(10)) if user < 30 else set(range(10, 20))
            assert set(best.tolist()) <= group, similarity


def test_neighbours_sorted_and_exclude_self():
    m = random_matrix()
    model = ItemKNN(k=10).fit(m)
    idx, scores = model.neighbours(4, 5)
    assert 4 not in idx
    assert len(idx) == 5
    assert np.all(np.diff(scores) <= 0)
    assert_allclose(scores, model.similarity.toarray()[4, idx])


def test_score_is_history_times_similarity_and_works_for_new_rows():
    m = random_matrix()
    model = ItemKNN(k=10).fit(m)
    new_row = sp.csr_matrix(([1.0, 2.0], ([0, 0], [3, 17])), shape=(1, 120))
    assert_allclose(model.score(new_row)[0], (new_row @ model.similarity).toarray()[0], rtol=1e-6)


def test_unknown_similarity_rejected():
    with pytest.raises(ValueError):
        ItemKNN(similarity="jaccard")
