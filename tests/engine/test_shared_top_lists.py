"""The self-evaluation ranks popularity's one row once per batch (``scoring.shared_top_lists``)
instead of a dense queries x items block of copies of it, and finds a dense model's (iALS's) best
scores by a value-only partition (``scoring.dense_top_lists``) instead of ``argpartition`` of a
float64 copy (issue 11, its cost): the same top lists, the same per-query NDCG, the same choice."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine import evaluator, selection
from recommendations.engine.evaluator import _Evaluator
from recommendations.engine.interactions import build_matrix
from recommendations.engine.popularity import Popularity
from recommendations.engine.scoring import dense_top_lists, shared_top_lists, top_lists
from tests.engine.test_query_window import shop
from tests.engine.test_selection_cost import taste_shop
from tests.engine.test_sparse_scoring import assert_same_csr


def awkward_row(seed, n_items=60):
    """Few distinct values (ties across any cut), zeros, negatives, inf and nan."""
    rng = np.random.default_rng(seed)
    row = rng.integers(-1, 5, n_items).astype(np.float32)
    row[rng.random(n_items) < 0.2] = 0.0
    row[:3] = [np.inf, np.nan, -np.inf] if seed % 2 else [1.0, 1.0, 1.0]
    return row


def exclusions(seed, n, n_items, share):
    rng = np.random.default_rng(seed + 50)
    ex = sp.csr_matrix((rng.random((n, n_items)) < share).astype(np.float64))
    if ex.nnz:
        ex.data[rng.random(ex.nnz) < 0.1] = 0.0  # a stored zero still excludes (ranked reads coo)
    return ex


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("top_n", [0, 1, 3, 7, 20, 100])
@pytest.mark.parametrize("n_items", [60, 400])
def test_shared_top_lists_are_the_dense_ones(seed, top_n, n_items):
    row = awkward_row(seed, n_items)
    for n in (0, 1, 25):
        for ex in (None, exclusions(seed, n, len(row), 0.05), exclusions(seed, n, len(row), 0.5)):
            block = np.tile(row.astype(np.float64), (n, 1))
            assert_same_csr(shared_top_lists(row, n, ex, top_n), top_lists(block, ex, top_n))


def split_lists(log, s):
    train, splits = selection.make_splits(log, s)
    ev = _Evaluator(train, splits, lambda sub: build_matrix(sub, {"view": 1.0}), s)
    cand = selection.candidates(ev.matrix)["popularity"]
    model = cand.fit({}, ev.matrix, ev.sessions)
    return {split: ev._split_lists(cand, model, split) for split in ev.splits}


@pytest.mark.parametrize("top_n", [3, 100])
def test_the_evaluator_keeps_every_list_and_ndcg(monkeypatch, top_n):
    for log in (taste_shop(seed=3), shop(seed=2)):
        s = selection.Settings(only=("popularity",), max_queries=150, min_queries=50, top_n=top_n)
        new = split_lists(log, s)
        with monkeypatch.context() as m:
            m.delattr(Popularity, "shared_scores")
            old = split_lists(log, s)
        assert old.keys() == new.keys()
        for key, (lists, ndcg) in new.items():
            assert_same_csr(lists, old[key][0])
            np.testing.assert_array_equal(ndcg, old[key][1])


def test_the_choice_is_the_same(monkeypatch):
    log = taste_shop(seed=6)
    s = selection.Settings(
        only=("popularity", "itemknn", "stan", "ials"), max_queries=150, min_queries=50, max_evaluations=4
    )
    build = lambda sub: build_matrix(sub, {"view": 1.0})  # noqa: E731
    new = selection.select(log, build, s)
    monkeypatch.delattr(Popularity, "shared_scores")
    monkeypatch.setattr(
        evaluator, "_dense_top_lists", lambda b, ex, n: top_lists(np.asarray(b, np.float64), ex, n)
    )
    old = selection.select(log, build, s)
    for name, choice in new.contexts.items():
        assert choice.weights == old.contexts[name].weights
        assert choice.params == old.contexts[name].params
        assert choice.metrics == old.contexts[name].metrics


def awkward_block(seed, dtype, n=40, n_items=300):
    """Few distinct values (ties across any cut), zeros, negatives, inf and nan, empty rows."""
    rng = np.random.default_rng(seed + 200)
    block = rng.integers(-2, 9, size=(n, n_items)).astype(dtype) / 4
    block[rng.random((n, n_items)) < 0.3] = 0.0
    block[0] = 0.0
    block[1, :3] = [np.inf, np.nan, -np.inf]
    block[2, 5:] = 0.0  # fewer rankable than top_n
    return block


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("top_n", [0, 1, 5, 100, 299, 300])
def test_dense_top_lists_are_the_dense_ones(seed, dtype, top_n):
    block = (
        awkward_block(seed, dtype)
        if dtype != np.int64
        else np.random.default_rng(seed).integers(-2, 5, (40, 300))
    )
    for ex in (None, exclusions(seed, 40, 300, 0.05), exclusions(seed, 40, 300, 0.6)):
        expected = top_lists(np.asarray(block, dtype=np.float64), ex, top_n)
        assert_same_csr(dense_top_lists(block, ex, top_n), expected)


def ials_lists(log, s):
    train, splits = selection.make_splits(log, s)
    ev = _Evaluator(train, splits, lambda sub: build_matrix(sub, {"view": 1.0}), s)
    cand = selection.candidates(ev.matrix)["ials"]
    out = {}
    for params in cand.grid[:2]:
        model = cand.fit(params, ev.matrix, ev.sessions)
        out.update({(repr(params), n): ev._split_lists(cand, model, n) for n in ev.splits})
    return out


@pytest.mark.parametrize("top_n", [3, 100])
def test_the_evaluator_keeps_every_ials_list_and_ndcg(monkeypatch, top_n):
    for log in (taste_shop(seed=3), shop(seed=2)):
        s = selection.Settings(only=("ials",), max_queries=150, min_queries=50, top_n=top_n)
        new = ials_lists(log, s)
        with monkeypatch.context() as m:  # the dense ranking of the float64 block, as before
            m.setattr(
                evaluator, "_dense_top_lists", lambda b, ex, n: top_lists(np.asarray(b, np.float64), ex, n)
            )
            old = ials_lists(log, s)
        assert old.keys() == new.keys()
        for key, (lists, ndcg) in new.items():
            assert_same_csr(lists, old[key][0])
            np.testing.assert_array_equal(ndcg, old[key][1])
