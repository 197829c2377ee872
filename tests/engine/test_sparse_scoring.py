"""The self-evaluation ranks a neighbourhood model's sparse scores instead of a dense queries x items
block (issue 11, its cost): the same top lists, the same per-query NDCG, the same choice."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine import selection
from recommendations.engine.evaluator import _Evaluator
from recommendations.engine.interactions import build_matrix
from recommendations.engine.itemknn import ItemKNN
from recommendations.engine.rp3beta import RP3beta
from recommendations.engine.scoring import blend_ndcg, sparse_top_lists, top_lists
from recommendations.engine.userknn import UserKNN
from tests.engine.test_selection_cost import taste_shop

SPARSE = (ItemKNN, RP3beta, UserKNN)
MATRIX = ("popularity", "itemknn", "rp3beta", "userknn")


def assert_same_csr(a, b):
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


def awkward_scores(seed, n=60, n_items=40):
    """Few distinct values (ties everywhere, across the top_n boundary too), stored zeros,
    negatives, inf and nan, rows with nothing rankable."""
    rng = np.random.default_rng(seed)
    dense = rng.integers(-2, 6, size=(n, n_items)).astype(np.float32)
    dense[rng.random((n, n_items)) < 0.5] = 0.0
    dense[0] = 0.0
    dense[1, :3] = [np.inf, np.nan, -np.inf]
    scores = sp.csr_matrix(dense)
    scores.data[rng.random(scores.nnz) < 0.1] = 0.0  # stored zeros
    exclude = sp.csr_matrix((rng.random((n, n_items)) < 0.1).astype(np.float64))
    return scores, exclude


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("top_n", [1, 3, 7, 40, 100])
def test_sparse_top_lists_are_the_dense_ones(seed, top_n):
    scores, exclude = awkward_scores(seed)
    for ex in (None, exclude):
        dense = scores.toarray().astype(np.float64)
        assert_same_csr(sparse_top_lists(scores, ex, top_n), top_lists(dense, ex, top_n))


@pytest.mark.parametrize(
    "model", [ItemKNN(k=5), RP3beta(k=5), UserKNN(k=5, exclude_history=True), UserKNN(k=5)]
)
def test_sparse_scores_are_the_dense_ones(model):
    matrix = build_matrix(taste_shop(seed=1), {"view": 1.0})
    model.fit(matrix)
    history = matrix[:100]
    sparse = model.score_sparse(history)
    assert sparse.dtype == model.score(history).dtype
    np.testing.assert_array_equal(sparse.toarray(), model.score(history))


def split_lists(log, s, names):
    train, splits = selection.make_splits(log, s)
    build = lambda sub: build_matrix(sub, {"view": 1.0})  # noqa: E731
    ev = _Evaluator(train, splits, build, s)
    pool = selection.candidates(ev.matrix)
    out = {}
    for name in names:
        cand = pool[name]
        for params in cand.grid[:3]:
            model = cand.fit(params, ev.matrix, ev.sessions)
            for split in ev.splits:
                if cand.serves(ev.splits[split].context):
                    out[name, repr(params), split] = ev._split_lists(cand, model, split)
    return out


def dense_path(monkeypatch):
    for cls in SPARSE:
        monkeypatch.delattr(cls, "score_sparse")


@pytest.mark.parametrize("top_n", [3, 100])
def test_the_evaluator_keeps_every_list_and_ndcg(monkeypatch, top_n):
    log = taste_shop(seed=3)
    s = selection.Settings(only=MATRIX, max_queries=200, min_queries=50, top_n=top_n)
    new = split_lists(log, s, MATRIX)
    dense_path(monkeypatch)
    old = split_lists(log, s, MATRIX)
    assert old.keys() == new.keys() and any(k[0] == "userknn" for k in new)
    for key, (lists, ndcg) in new.items():
        assert_same_csr(lists, old[key][0])
        np.testing.assert_array_equal(ndcg, old[key][1])


def test_the_choice_is_the_same(monkeypatch):
    log = taste_shop(seed=4)
    s = selection.Settings(
        only=("popularity", "itemknn", "rp3beta", "userknn", "stan"),
        max_queries=200,
        min_queries=50,
        max_evaluations=6,
        contexts=("user", "session"),
    )
    build = lambda sub: build_matrix(sub, {"view": 1.0})  # noqa: E731
    new = selection.select(log, build, s)
    dense_path(monkeypatch)
    old = selection.select(log, build, s)
    assert new.contexts.keys() == old.contexts.keys()
    for name, choice in new.contexts.items():
        assert choice.weights == old.contexts[name].weights
        assert choice.params == old.contexts[name].params
        assert choice.metrics == old.contexts[name].metrics


def blend_ndcg_before(lists, targets, k):
    """blend_ndcg as it was before it sorted only each row's contenders for its first k."""
    total = lists[0][0] * lists[0][1]
    for matrix, weight in lists[1:]:
        total = total + matrix * weight
    total = sp.csr_matrix(total)
    total.sum_duplicates()
    n, n_items = total.shape
    lengths = np.diff(total.indptr)
    width = max(int(lengths.max()) if n else 0, 1)
    rows = np.repeat(np.arange(n), lengths)
    pos = np.arange(total.nnz) - total.indptr[rows]
    padded = np.full((n, width), np.inf)
    padded[rows, pos] = np.where(total.data > 0, -total.data, np.inf)
    items = np.full((n, width), -1, dtype=np.int64)
    items[rows, pos] = total.indices
    order = np.argsort(padded, axis=1, kind="stable")[:, :k]
    top = np.where(
        np.isfinite(np.take_along_axis(padded, order, axis=1)), np.take_along_axis(items, order, 1), -1
    )
    target_rows = np.repeat(np.arange(len(targets)), [len(t) for t in targets])
    target_keys = target_rows * n_items + np.concatenate(targets)
    keys = np.where(top >= 0, np.arange(n)[:, None] * n_items + top, -1)
    hit = np.isin(keys, target_keys) & (top >= 0)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hit * discounts[: top.shape[1]]).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum([len(t) for t in targets], k) - 1]
    return dcg / ideal


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 3, 10, 25])
def test_blend_ndcg_is_what_it_was(seed, k):
    rng = np.random.default_rng(seed)
    a, ex = awkward_scores(seed)
    b, _ = awkward_scores(seed + 10)
    lists = [top_lists(m.toarray().astype(np.float64), ex, 12) for m in (a, b)]
    targets = [rng.choice(40, size=int(rng.integers(1, 6)), replace=False) for _ in range(a.shape[0])]
    for weights in ([1.0], [1.0, 1.0], [1.0, 0.5], [0.25, 2.0]):
        blend = list(zip(lists, weights, strict=False))
        np.testing.assert_array_equal(blend_ndcg(blend, targets, k), blend_ndcg_before(blend, targets, k))


def ranked_before(scores, k, exclude=None):
    """validation.ranked as it was before it masked in place with copyto."""
    neg = np.negative(np.asarray(scores), dtype=np.float64)
    neg[~(neg < 0) | (neg == -np.inf)] = np.inf
    if exclude is not None and exclude.nnz:
        coo = exclude.tocoo()
        neg[coo.row, coo.col] = np.inf
    k = min(k, neg.shape[1])
    part = (
        np.argpartition(neg, k - 1, axis=1)[:, :k]
        if k < neg.shape[1]
        else np.tile(np.arange(k), (len(neg), 1))
    )
    vals = np.take_along_axis(neg, part, axis=1)
    order = np.lexsort((part, vals), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    top[np.take_along_axis(vals, order, axis=1) == np.inf] = -1
    return top


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 5, 40])
def test_ranked_is_what_it_was(seed, k):
    from recommendations.engine.validation import ranked

    scores, exclude = awkward_scores(seed)
    for dense in (scores.toarray(), scores.toarray().astype(np.float64)):
        np.testing.assert_array_equal(ranked(dense, k, exclude), ranked_before(dense, k, exclude))


def test_in_sorted_is_isin():
    from recommendations.engine.base import in_sorted

    rng = np.random.default_rng(0)
    for ordered in (
        np.sort(rng.integers(0, 10**12, 500)),
        np.sort(rng.integers(-5, 5, 30)),
        np.empty(0, np.int64),
    ):
        values = np.concatenate(
            [
                rng.choice(ordered, 50) if len(ordered) else rng.integers(-5, 5, 50),
                rng.integers(-10, 10**12, 50),
            ]
        )
        values = values.astype(np.int64).reshape(10, 10)
        np.testing.assert_array_equal(in_sorted(values, ordered), np.isin(values, ordered))
