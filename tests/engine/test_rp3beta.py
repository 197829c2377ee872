import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from recommendations.engine.base import top_k
from recommendations.engine.popularity import Popularity
from recommendations.engine.rp3beta import RP3beta


def planted(seed=0, n_users=400, n_items=100, groups=5, n_popular=10):
    """Users like one of ``groups`` item blocks (observed ~30%); everybody also touches a few of
    ``n_popular`` blockbuster items, which carry no taste signal at all."""
    rng = np.random.default_rng(seed)
    user_group = rng.integers(0, groups, n_users)
    item_group = np.r_[np.full(n_popular, -1), np.arange(n_items - n_popular) % groups]
    likes = user_group[:, None] == item_group[None, :]
    observed = (likes & (rng.random((n_users, n_items)) < 0.3)) | (
        (item_group[None, :] == -1) & (rng.random((n_users, n_items)) < 0.5)
    )
    return sp.csr_matrix(observed.astype(np.float32)), likes


def dense_rp3beta(x, alpha, beta):
    x = x.toarray().astype(np.float64)
    p_ui = x / np.maximum(x.sum(1, keepdims=True), 1e-300)
    p_iu = (x / np.maximum(x.sum(0, keepdims=True), 1e-300)).T
    w = np.power(p_iu, alpha) @ np.power(p_ui, alpha)
    degree = (x > 0).sum(0).astype(np.float64)
    w = w / np.where(degree > 0, degree**beta, np.inf)[None, :]
    np.fill_diagonal(w, 0)
    return w


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.0), (0.7, 0.5), (1.3, 0.9)])
def test_matches_the_dense_definition_when_k_keeps_everything(alpha, beta):
    x, _ = planted(seed=1, n_users=60, n_items=30)
    x = x.multiply(np.random.default_rng(2).integers(1, 4, x.shape)).tocsr()  # graded confidence
    model = RP3beta(k=30, alpha=alpha, beta=beta).fit(x)
    assert_allclose(model.similarity.toarray(), dense_rp3beta(x, alpha, beta), rtol=2e-5, atol=1e-7)
    assert_allclose(model.score(x[:4]), x[:4].toarray() @ model.similarity.toarray(), rtol=1e-5)


def test_keeps_the_k_strongest_neighbours_and_never_the_item_itself():
    x, _ = planted(seed=3)
    full = RP3beta(k=100, beta=0.3).fit(x).similarity.toarray()
    cut = RP3beta(k=5, beta=0.3).fit(x).similarity
    assert np.diff(cut.indptr).max() <= 5
    assert cut.diagonal().sum() == 0
    for i in (0, 17, 55):
        row = cut[i].toarray().ravel()
        kept = np.flatnonzero(row)
        assert_allclose(row[kept], full[i, kept], rtol=1e-6)
        assert row[kept].min() >= np.sort(full[i])[-5] - 1e-9


def hit_rate(model, x, likes, k=10):
    """Share of top-k slots filled with items of the user's liked block (own items and the
    tasteless blockbusters excluded: the question is whether the taste is found)."""
    scores = model.score(x)
    hits = [
        likes[u, top_k(scores[u], k, exclude=np.r_[x[u].indices, np.arange(10)])].mean()
        for u in range(x.shape[0])
    ]
    return float(np.mean(hits))


def test_recovers_planted_taste_where_popularity_cannot():
    x, likes = planted()
    rp3 = hit_rate(RP3beta(k=50, alpha=1.0, beta=0.5).fit(x), x, likes)
    pop = hit_rate(Popularity().fit(x), x, likes)
    assert pop < 0.4  # without the blockbusters popularity is a mix of all groups
    assert rp3 > 0.95


def test_beta_moves_the_ranking_away_from_blockbusters():
    x, _ = planted(seed=4)
    popular = np.arange(10)
    shares = []
    for beta in (0.0, 0.8):
        scores = RP3beta(k=100, beta=beta).fit(x).score(x[:50])
        tops = [top_k(s, 10) for s in scores]
        shares.append(np.mean([np.isin(t, popular).mean() for t in tops]))
    assert shares[1] < shares[0]


def test_empty_columns_and_rows_are_harmless():
    x = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]], dtype=np.float32))
    model = RP3beta(k=3, beta=0.5).fit(x)
    assert np.isfinite(model.similarity.data).all()
    assert model.similarity[:, 3].nnz == 0 and model.similarity[3].nnz == 0
    assert model.score(x[2]).sum() == 0


@pytest.mark.parametrize(("k", "normalize"), [(3, False), (5, True), (1000, False)])
def test_the_similarity_does_not_depend_on_the_order_of_a_blocks_entries(monkeypatch, k, normalize):
    """Blocks are no longer sorted before their top K: the same matrix, entry for entry."""
    from recommendations.engine import rp3beta

    x, _ = planted(seed=3, n_users=300, n_items=120)
    x = x.multiply(np.random.default_rng(4).integers(1, 3, x.shape)).tocsr()  # ties in the walk
    fitted = RP3beta(k=k, normalize=normalize, block_items=32).fit(x).similarity
    real = rp3beta._topk

    def sorted_then_topk(block, k, start):
        block = block.copy()
        block.sort_indices()
        return real(block, k, start)

    monkeypatch.setattr(rp3beta, "_topk", sorted_then_topk)
    before = RP3beta(k=k, normalize=normalize, block_items=32).fit(x).similarity
    np.testing.assert_array_equal(fitted.indptr, before.indptr)
    np.testing.assert_array_equal(fitted.indices, before.indices)
    np.testing.assert_array_equal(fitted.data, before.data)
