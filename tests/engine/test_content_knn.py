"""Content neighbours from rare-feature candidates: the exact answer, at linear cost."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from recommendations.engine import content_knn
from recommendations.engine.content import ContentModel
from recommendations.engine.content_knn import content_neighbours_bounded
from recommendations.engine.similarity import content_neighbours


def catalogue(n: int, seed: int = 0) -> sp.csr_matrix:
    """Leaves of ~20 items under 8 roots, words rare and frequent, prices in 5 bands, brands."""
    rng = np.random.default_rng(seed)
    leaf = rng.integers(0, max(n // 20, 2), n)
    texts = [
        f"product {i} {'red' if i % 3 else 'blue'} w{rng.integers(0, n // 4)} w{rng.integers(0, n // 4)}"
        for i in range(n)
    ]
    categories = [[f"root{leaf_ % 8}", f"leaf{leaf_}"] for leaf_ in leaf]
    brands = [f"brand{b}" for b in rng.integers(0, n // 30, n)]
    prices = rng.lognormal(3, 1, n).tolist()
    return ContentModel().fit(texts, categories, brands, prices).vectors


def _exact(vectors: sp.csr_matrix, k: int) -> sp.csr_matrix:
    return content_neighbours(vectors, k, exact_max_items=10**9)


def test_bounded_neighbours_are_the_exact_ones():
    vectors = catalogue(1200)
    exact = _exact(vectors, 10)
    bounded = content_neighbours_bounded(vectors, 10, common_df=60)
    shared = bounded.multiply(exact != 0)
    assert shared.nnz / exact.nnz >= 0.98  # measured 1.0 here; misses need an unlucky common-only tie
    assert_allclose(shared.data, exact.multiply(bounded != 0).data, rtol=1e-5)  # exact cosines
    assert not bounded.diagonal().any()
    assert np.diff(bounded.indptr).max() <= 10


def test_items_alike_only_in_common_features_still_get_neighbours():
    # unique words, one price, one category: every feature they share is common
    n = 300
    texts = [f"unique{i}" for i in range(n)]
    vectors = ContentModel().fit(texts, [["all"]] * n, None, [10.0] * n).vectors
    bounded = content_neighbours_bounded(vectors, 5, common_df=50)
    assert (np.diff(bounded.indptr) == 5).all()  # the group's leaders
    exact = _exact(vectors, 5)
    assert_allclose(np.sort(bounded.data), np.sort(exact.data), rtol=1e-5)  # as good as the best


def test_scored_pairs_grow_linearly_not_quadratically(monkeypatch: pytest.MonkeyPatch):
    scored = []
    real = content_knn._row_dots
    monkeypatch.setattr(content_knn, "_row_dots", lambda m, r, c: scored.append(len(r)) or real(m, r, c))
    per_item = {}
    for n in (1000, 4000):
        scored.clear()
        content_neighbours_bounded(catalogue(n, seed=1), 10, common_df=60)
        per_item[n] = sum(scored) / n
    # all pairs would be n per item (1000 -> 4000); rare features keep it flat
    assert per_item[4000] < 1.5 * per_item[1000]
    assert per_item[4000] < 0.1 * 4000


def test_content_neighbours_switches_to_bounded_above_the_exact_limit(monkeypatch: pytest.MonkeyPatch):
    vectors = catalogue(400)
    calls = []
    monkeypatch.setattr(
        "recommendations.engine.similarity.content_neighbours_bounded",
        lambda v, k: calls.append(k) or content_neighbours_bounded(v, k),
    )
    small = content_neighbours(vectors, 5, exact_max_items=400)
    assert not calls
    large = content_neighbours(vectors, 5, exact_max_items=399)
    assert calls == [5]
    assert large.shape == small.shape


def test_blocks_kept_as_csr_rows_give_the_matrix_the_triples_gave(monkeypatch):
    from recommendations.engine import _sparse

    vectors = catalogue(900, seed=3)
    compact = content_neighbours_bounded(vectors, 7, common_df=40, block_rows=64)
    # the former assembly: every block's (rows, cols, values) kept, one COO -> CSR at the end
    monkeypatch.setattr(content_knn, "csr_block", lambda triples, *_: triples)
    monkeypatch.setattr(content_knn, "stack", lambda parts, shape: _sparse.assemble(parts, shape))
    former = content_neighbours_bounded(vectors, 7, common_df=40, block_rows=64)
    assert compact.shape == former.shape and compact.dtype == former.dtype == np.float32
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(compact, name), getattr(former, name))
