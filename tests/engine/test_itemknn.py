import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from recommendations.engine._sparse import topk_per_row
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


def power_law_matrix(seed=5, n_users=400, n_items=150):
    """Integer confidences, Zipf-like item popularity: many ties, dense popular rows."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1)
    rows = rng.integers(0, n_users, 3000)
    cols = rng.choice(n_items, 3000, p=popularity / popularity.sum())
    m = sp.csr_matrix((rng.integers(1, 3, 3000).astype(np.float32), (rows, cols)), shape=(n_users, n_items))
    m.sum_duplicates()
    return m


@pytest.mark.parametrize("dense_from", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("threaded", [False, True])
def test_symmetric_upper_half_path_equals_full_product(monkeypatch, dense_from, threaded):
    """Cosine runs on the upper half of X^T X; the asymmetric path with alpha 0.5 is the same
    similarity on the full product, so the neighbour lists must be identical (ties included)."""
    import recommendations.engine.itemknn as itemknn

    monkeypatch.setattr(itemknn._UpperBlocks, "DENSE_FROM", dense_from)
    if threaded:
        monkeypatch.setattr(itemknn, "THREADED_MIN_COST", 0.0)
        monkeypatch.setattr(itemknn, "MAX_THREADS", 2)
        monkeypatch.setattr(itemknn.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    m = power_law_matrix()
    for shrink in (0.0, 2.0):
        for chunk, budget in ((7, 40.0), (10_000, 1e12)):
            upper = ItemKNN(k=5, shrink=shrink, chunk_size=chunk, block_budget=budget).fit(m).similarity
            full = ItemKNN(k=5, similarity="asymmetric", alpha=0.5, shrink=shrink).fit(m).similarity
            assert_array_equal(upper.indptr, full.indptr)
            assert_array_equal(upper.indices, full.indices)
            assert_allclose(upper.data, full.data, rtol=1e-5)


def test_bm25_matches_brute_force_dot_products():
    from recommendations.engine.itemknn import bm25_weight

    m = power_law_matrix(seed=8)
    model = ItemKNN(k=6, similarity="bm25", chunk_size=9, block_budget=60.0).fit(m)
    w = bm25_weight(m).toarray().astype(np.float64)
    expected = w.T @ w
    np.fill_diagonal(expected, 0)
    got = model.similarity.toarray()
    for i in range(m.shape[1]):
        kept = np.flatnonzero(got[i])
        assert_allclose(got[i, kept], expected[i, kept], rtol=1e-4)
        if len(kept) == 6:
            others = np.setdiff1d(np.arange(m.shape[1]), np.append(kept, i))
            assert expected[i, others].max() <= got[i, kept].min() * (1 + 1e-5)


def test_fit_does_not_modify_the_input():
    m = power_law_matrix(seed=9)
    before = m.copy()
    ItemKNN(k=5, shrink=1.0).fit(m)
    ItemKNN(k=5).fit(m)
    assert_array_equal(m.indices, before.indices)
    assert_array_equal(m.data, before.data)


def sorted_topk_reference(matrix, k, row_offset, drop_diagonal):
    """Sort every row (best first, ties by column), cut, drop the diagonal or the (k+1)-th."""
    out = set()
    for r in range(matrix.shape[0]):
        lo, hi = matrix.indptr[r], matrix.indptr[r + 1]
        entries = sorted(zip(-matrix.data[lo:hi], matrix.indices[lo:hi], strict=True))
        entries = [(c, -v) for v, c in entries]
        if drop_diagonal:
            top = entries[: k + 1]
            diagonal = [e for e in top if e[0] == r + row_offset]
            top = [e for e in top if e[0] != r + row_offset] if diagonal else top[:k]
        else:
            top = entries[:k]
        out |= {(r + row_offset, c, v) for c, v in top if v > 0}
    return out


@pytest.mark.parametrize("drop_diagonal", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_topk_per_row_matches_sorting_each_row(seed, drop_diagonal):
    rng = np.random.default_rng(seed)
    dense = rng.integers(-1, 4, (30, 40)).astype(np.float32)  # many ties, some negatives
    dense[rng.random(dense.shape) < 0.3] = 0
    dense[-3:] = 0  # trailing empty rows
    dense[5, :] = 0
    dense[5, 7] = 2.0  # the diagonal (offset 2) is the only entry
    m = sp.csr_matrix(dense)
    rows, cols, vals = topk_per_row(m, 4, row_offset=2, drop_diagonal=drop_diagonal)
    got = set(zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True))
    assert got == sorted_topk_reference(m, 4, 2, drop_diagonal)
    assert len(got) == len(rows)
    assert_array_equal(np.bincount(rows - 2, minlength=30) <= 4, True)


@pytest.mark.parametrize("similarity", ["cosine", "asymmetric"])
def test_normalize_scales_each_row_of_the_kept_neighbours_to_sum_one(similarity):
    rng = np.random.default_rng(3)
    matrix = sp.csr_matrix((rng.random((60, 30)) < 0.2) * rng.integers(1, 4, (60, 30)), dtype=np.float32)
    plain = ItemKNN(k=5, similarity=similarity, shrink=10.0).fit(matrix).similarity.toarray()
    normed = ItemKNN(k=5, similarity=similarity, shrink=10.0, normalize=True).fit(matrix).similarity.toarray()
    sums = plain.sum(axis=1, keepdims=True)
    expected = np.divide(plain, sums, out=np.zeros_like(plain), where=sums > 0)
    assert_allclose(normed, expected, rtol=1e-5)
    assert_allclose(normed.sum(axis=1)[sums.ravel() > 0], 1.0, rtol=1e-5)
