import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from recommendations.engine.als import ALS
from recommendations.engine.base import top_k


def planted(seed=0, n_users=300, n_items=120, rank=4):
    """Each user likes one of ``rank`` disjoint item blocks; observe ~35% of each liked block."""
    rng = np.random.default_rng(seed)
    user_group = rng.integers(0, rank, n_users)
    item_group = np.arange(n_items) % rank
    likes = user_group[:, None] == item_group[None, :]
    observed = likes & (rng.random((n_users, n_items)) < 0.35)
    return sp.csr_matrix(observed.astype(np.float32)), likes, user_group, item_group


def test_recovers_planted_low_rank_structure():
    m, likes, _, _ = planted()
    model = ALS(factors=8, iterations=15, regularization=0.1, alpha=10.0, seed=0).fit(m)
    scores = model.user_factors @ model.item_factors.T
    hits = 0
    for u in range(m.shape[0]):
        best = top_k(scores[u], 10, exclude=m[u].indices)
        hits += likes[u, best].sum()
    assert hits / (10 * m.shape[0]) > 0.97  # held-out liked items fill the top 10


def test_matches_exact_als_on_small_problem():
    """With enough CG steps every half-step is exact: compare with a direct dense solve."""
    m, _, _, _ = planted(seed=1, n_users=40, n_items=24)
    f, reg, alpha = 3, 0.5, 2.0
    cg = ALS(
        factors=f, iterations=4, regularization=reg, alpha=alpha, cg_steps=f, seed=3, dtype=np.float64
    ).fit(m)
    rng = np.random.default_rng(3)
    x = rng.random((40, f)) * 0.01
    y = rng.random((24, f)) * 0.01
    c = 1 + alpha * m.toarray()
    p = (m.toarray() > 0).astype(float)
    for _ in range(4):
        for a, b, cc, pp in ((x, y, c, p), (y, x, c.T, p.T)):
            for u in range(a.shape[0]):
                lhs = b.T @ (cc[u][:, None] * b) + reg * np.eye(f)
                a[u] = np.linalg.solve(lhs, b.T @ (cc[u] * pp[u]))
    assert_allclose(cg.user_factors @ cg.item_factors.T, x @ y.T, atol=1e-6)


def test_fold_in_of_training_row_is_close_to_trained_factors():
    m, _, _, _ = planted(seed=2)
    model = ALS(factors=8, iterations=15, regularization=0.1, alpha=5.0, seed=1).fit(m)
    for u in (0, 17, 123):
        folded = model.fold_in(m[u])
        trained = model.user_factors[u]
        scores_f = folded @ model.item_factors.T
        scores_t = trained @ model.item_factors.T
        assert np.corrcoef(scores_f, scores_t)[0, 1] > 0.99
        assert_allclose(scores_f, scores_t, atol=0.05 * np.abs(scores_t).max())
    batch = model.score(m[[0, 17, 123]])
    # float32 factors: batch and single-row BLAS paths may differ in the last bits of small scores.
    single = model.fold_in(m[17]) @ model.item_factors.T
    assert_allclose(batch[1], single, rtol=1e-5, atol=1e-6 * np.abs(single).max())


def test_new_user_and_empty_history():
    m, _, _user_group, item_group = planted(seed=4)
    model = ALS(factors=8, iterations=10, regularization=0.1, alpha=10.0).fit(m)
    liked = np.flatnonzero(item_group == 2)[:3]
    new = sp.csr_matrix((np.ones(3), (np.zeros(3, int), liked)), shape=(1, m.shape[1]))
    best = top_k(model.score(new)[0], 5, exclude=liked)
    assert np.all(item_group[best] == 2)
    empty = sp.csr_matrix((1, m.shape[1]), dtype=np.float32)
    assert_allclose(model.score(empty), 0)


def test_deterministic_under_seed_and_thread_count():
    m, _, _, _ = planted(seed=5)
    a = ALS(factors=6, iterations=3, seed=7, threads=1, chunk_nnz=500).fit(m)
    b = ALS(factors=6, iterations=3, seed=7, threads=2, chunk_nnz=500).fit(m)
    assert_allclose(a.item_factors, b.item_factors, rtol=1e-6)


def test_score_requires_fit():
    with pytest.raises(RuntimeError):
        ALS().score(sp.csr_matrix((1, 3)))


def test_frequency_scaling_zero_is_the_classic_model():
    m, _, _, _ = planted(seed=5, n_users=60, n_items=30)
    a = ALS(factors=4, iterations=3, regularization=0.3, seed=1, dtype=np.float64).fit(m)
    b = ALS(factors=4, iterations=3, regularization=0.3, seed=1, dtype=np.float64, frequency_scaling=0.0).fit(
        m
    )
    assert_allclose(a.item_factors, b.item_factors)


def test_frequency_scaled_regularisation_grows_with_the_row_and_folds_in_exactly():
    m, _, _, _ = planted(seed=6, n_users=80, n_items=40)
    model = ALS(
        factors=4,
        iterations=5,
        regularization=0.5,
        alpha=2.0,
        seed=0,
        dtype=np.float64,
        frequency_scaling=1.0,
    ).fit(m)
    assert model.row_regularization(1) < model.row_regularization(20)
    plain = ALS(factors=4, iterations=5, regularization=0.5, alpha=2.0, seed=0, dtype=np.float64).fit(m)
    assert not np.allclose(model.item_factors, plain.item_factors)
    # fold-in solves the user's system with its own lambda
    row = m[3]
    y = model.item_factors
    conf = 2.0 * row.data
    lam = model.row_regularization(row.nnz)
    system = y.T @ y + lam * np.eye(4) + y[row.indices].T @ (conf[:, None] * y[row.indices])
    expected = np.linalg.solve(system, y[row.indices].T @ (1.0 + conf))
    assert_allclose(model.fold_in(row), expected, rtol=1e-8)


def test_frequency_scaled_half_step_is_the_exact_solution_with_enough_cg_steps():
    """One user half-step with as many CG steps as factors equals the dense per-row solve."""
    m, _, _, _ = planted(seed=7, n_users=30, n_items=20)
    f, reg, alpha, nu = 3, 0.4, 3.0, 0.7
    model = ALS(
        factors=f, iterations=1, regularization=reg, alpha=alpha, cg_steps=f, seed=2, dtype=np.float64,
        frequency_scaling=nu,
    ).fit(m)  # fmt: skip
    rng = np.random.default_rng(2)
    x = rng.random((30, f)) * 0.01
    y = rng.random((20, f)) * 0.01
    dense = m.toarray().astype(np.float64)

    def lambdas(counts, n_cols):
        weight = alpha * counts + n_cols
        return reg * (weight / weight.mean()) ** nu

    for rows, other, data, n_cols in ((x, y, dense, 20), (y, x, dense.T, 30)):
        lam = lambdas((data > 0).sum(1), n_cols)
        for u in range(rows.shape[0]):
            c = 1 + alpha * data[u]
            a = other.T @ (c[:, None] * other) + lam[u] * np.eye(f)
            rows[u] = np.linalg.solve(a, other.T @ (c * (data[u] > 0)))
    assert_allclose(model.user_factors, x, rtol=1e-6, atol=1e-9)
    assert_allclose(model.item_factors, y, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("frequency_scaling", [0.0, 1.0])
def test_user_vectors_solve_each_rows_fold_in_in_batches(frequency_scaling):
    matrix = sp.random(400, 120, density=0.05, format="csr", random_state=1, dtype=np.float32)
    model = ALS(factors=8, iterations=3, alpha=10.0, frequency_scaling=frequency_scaling).fit(matrix)
    history = sp.random(50, 120, density=0.08, format="csr", random_state=2, dtype=np.float32)
    history = sp.vstack([history, sp.csr_matrix((1, 120), dtype=np.float32)], format="csr")  # empty row
    one_by_one = np.vstack([model.fold_in(history[i]) for i in range(history.shape[0])])
    for chunk in (None, 1, 7):  # a chunk smaller than a row holds that row alone
        np.testing.assert_allclose(model.user_vectors(history, chunk), one_by_one, rtol=1e-5, atol=1e-6)
    assert not model.user_vectors(history)[-1].any()


def test_factors_drawn_in_row_blocks_equal_one_draw():
    from recommendations.engine.als import _initial

    for dtype in (np.float32, np.float64):
        whole = np.random.default_rng(5)
        expected = [(whole.random((n, 8), dtype=np.float64) * 0.01).astype(dtype) for n in (70, 33)]
        split = np.random.default_rng(5)
        got = [_initial(split, n, 8, dtype, rows=16) for n in (70, 33)]
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_a_refit_from_a_sample_fit_recovers_the_structure_in_a_few_alternations():
    m, likes, _, _ = planted(seed=2, n_users=600)
    sample = ALS(factors=8, iterations=12, regularization=0.1, alpha=10.0, frequency_scaling=1.0).fit(m[:150])
    model = ALS(factors=8, regularization=0.1, alpha=10.0, frequency_scaling=1.0)
    warm = model.refit(m, sample.item_factors, 3)
    assert warm is model and warm.user_factors.shape == (600, 8)
    assert not np.allclose(warm.item_factors, sample.item_factors)  # the items moved to every row
    scores = warm.score(m)
    hits = sum(likes[u, top_k(scores[u], 10, exclude=m[u].indices)].sum() for u in range(m.shape[0]))
    assert hits / (10 * m.shape[0]) > 0.97


def test_a_refit_needs_factors_of_the_same_items():
    m, _, _, _ = planted()
    with pytest.raises(ValueError, match="item factors"):
        ALS(factors=8).refit(m, np.zeros((m.shape[1] - 1, 8)), 2)
