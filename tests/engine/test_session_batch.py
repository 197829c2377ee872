"""The self-evaluation scores a sequence model's validation queries in batches
(``score_sequences``, engine/session_batch.py) and ranks the sparse rows, instead of one
``score_sequence`` call and one dense row per query (issue 11, its cost): the same scores entry
for entry, the same top lists, the same per-query NDCG, the same choice."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine import selection
from recommendations.engine.evaluator import _Evaluator
from recommendations.engine.interactions import build_matrix
from recommendations.engine.session import SessionKNN, Sessions, Transitions, stan
from tests.engine.test_query_window import shop
from tests.engine.test_selection_cost import taste_shop
from tests.engine.test_sparse_scoring import assert_same_csr

N_ITEMS = 30


def tied_sessions(seed, n_sessions=400):
    """Short sessions of few items (repeats inside a session), whole-second times with many
    sessions ending at the same second (ties in the recency order), some empty."""
    rng = np.random.default_rng(seed)
    seqs, times = [], []
    for _ in range(n_sessions):
        n = int(rng.integers(0, 6)) if rng.random() < 0.05 else int(rng.integers(1, 6))
        seqs.append(rng.integers(0, N_ITEMS, n).tolist())
        start = float(rng.integers(0, 50))
        times.append(np.sort(start + rng.integers(0, 3, n)).astype(float).tolist())
    seqs.append([1, 2, 3])  # never empty last: fit's reduceat reads each session's first event
    times.append([1.0, 2.0, 3.0])
    return Sessions.from_lists(seqs, N_ITEMS, times)


def queries(seed, n=80):
    """Query sequences with repeats, long and short, empty ones and invalid items (negative:
    dropped from the match but wrapped in the position filter, as score_sequence does)."""
    rng = np.random.default_rng(seed + 100)
    seqs, times = [], []
    for i in range(n):
        length = 0 if i % 17 == 0 else int(rng.integers(1, 12))
        seq = rng.integers(0, N_ITEMS, length)
        if i % 11 == 5 and length:
            seq[0] = -1
        if i % 13 == 7:
            seq[:] = -2  # nothing valid
        seqs.append(seq.astype(np.int64))
        times.append(np.sort(rng.integers(0, 60, length)).astype(float))
    return seqs, times


KNN = [
    {"k": 3, "sample_size": 5},
    {"k": 4, "sample_size": 8, "weighting": "linear", "normalize": True},
    {"k": 50, "sample_size": 1000, "weighting": "same", "idf": True},
    {"k": 2, "sample_size": 6, "weighting": "div", "lambda_time": 20.0},
    {"k": 5, "sample_size": 10, "lambda_spw": 0.75, "lambda_ipw": 3.0, "idf": True},
    {"k": 5, "sample_size": 10, "weighting": "exp", "lambda_ipw": None, "backward_weight": 0.0},
    {
        "k": 7,
        "sample_size": 12,
        "lambda_spw": 2.0,
        "lambda_ipw": 10.0,
        "backward_weight": 0.5,
        "normalize": True,
    },
]


def dense(model, seqs, times):
    return np.vstack([model.score_sequence(s, t) for s, t in zip(seqs, times, strict=True)])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("params", KNN)
def test_knn_batch_scores_are_the_per_query_ones(seed, params):
    model = SessionKNN(**params).fit(tied_sessions(seed))
    seqs, times = queries(seed)
    batch = model.score_sequences(seqs, times)
    assert isinstance(batch, sp.csr_matrix) and batch.dtype == np.float64 and batch.has_sorted_indices
    np.testing.assert_array_equal(batch.toarray(), dense(model, seqs, times))
    # without timestamps, and one query at a time
    np.testing.assert_array_equal(
        model.score_sequences(seqs).toarray(), dense(model, seqs, [None] * len(seqs))
    )
    np.testing.assert_array_equal(
        model.score_sequences(seqs[3:4], times[3:4]).toarray(), dense(model, seqs[3:4], times[3:4])
    )
    assert model.score_sequences([], []).shape == (0, N_ITEMS)


def test_stan_batch_on_a_shop():
    log = shop(seed=1)
    model = stan().fit(Sessions.from_log(log))
    order = np.argsort(log.timestamps, kind="stable")
    seqs = [log.items[order][i : i + n] for i, n in zip(range(0, 3000, 37), [1, 3, 7, 50] * 25, strict=False)]
    times = [log.timestamps[order][i : i + len(s)] for i, s in zip(range(0, 3000, 37), seqs, strict=False)]
    np.testing.assert_array_equal(model.score_sequences(seqs, times).toarray(), dense(model, seqs, times))


def test_an_item_beyond_the_catalogue_raises_as_per_query():
    model = stan(k=3, sample_size=5).fit(tied_sessions(0))
    bad = [np.array([1, 2, N_ITEMS + 3])]
    with pytest.raises(IndexError):
        model.score_sequence(bad[0])
    with pytest.raises(IndexError):
        model.score_sequences(bad)


def item_sessions_before(model, sessions):
    """SessionKNN.fit's item -> sessions lists as the per-item loop built them."""
    rows = np.repeat(np.arange(sessions.n_sessions), np.diff(sessions.indptr))
    by_item = sp.csc_matrix(
        (np.ones(len(rows)), (rows, sessions.items)), shape=(sessions.n_sessions, N_ITEMS)
    )
    out = []
    for j in range(N_ITEMS):
        sess = by_item.indices[by_item.indptr[j] : by_item.indptr[j + 1]]
        recent = sess[np.argsort(-model._end[sess], kind="stable")[: model.sample_size]]
        out.append(recent.astype(np.int64))
    return out


def positions_before(sessions):
    """SessionKNN.fit's sessions x items last positions as the three-key lexsort built them."""
    n = sessions.n_sessions
    lengths = np.diff(sessions.indptr)
    rows = np.repeat(np.arange(n), lengths)
    pos = np.arange(len(sessions.items)) - np.repeat(sessions.indptr[:-1], lengths) + 1
    order = np.lexsort((pos, sessions.items, rows))
    rows, cols, pos = rows[order], sessions.items[order], pos[order]
    last = np.r_[(rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1]), True]
    out = sp.csr_matrix((pos[last].astype(np.float64), (rows[last], cols[last])), shape=(n, sessions.n_items))
    out.sort_indices()
    return out, cols[last]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("sample_size", [1, 3, 10, 1000])
def test_fit_keeps_the_same_recent_sessions_per_item(seed, sample_size):
    sessions = tied_sessions(seed)
    model = SessionKNN(sample_size=sample_size).fit(sessions)
    pos, cols = positions_before(sessions)
    assert_same_csr(model._pos, pos)
    assert model._pos.indices.dtype == pos.indices.dtype
    df = np.bincount(cols, minlength=N_ITEMS).astype(np.float64)
    np.testing.assert_array_equal(model._idf, np.log((sessions.n_sessions + 1) / (df + 1)) + 1.0)
    before = item_sessions_before(model, sessions)
    assert len(model._item_sessions) == len(before)
    for new, old in zip(model._item_sessions, before, strict=True):
        assert new.dtype == old.dtype
        np.testing.assert_array_equal(new, old)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "params", [{"steps": 1}, {"steps": 3, "lookback": 3}, {"steps": 10, "half_life": 5.0, "lookback": 2}]
)
def test_transition_batch_scores_are_the_per_query_ones(seed, params):
    model = Transitions(**params).fit(tied_sessions(seed))
    seqs, times = queries(seed)
    batch = model.score_sequences(seqs, times)
    assert isinstance(batch, sp.csr_matrix) and batch.dtype == np.float64
    np.testing.assert_array_equal(batch.toarray(), dense(model, seqs, times))


def per_query_path(monkeypatch):
    for cls in (SessionKNN, Transitions):
        monkeypatch.delattr(cls, "score_sequences")


def split_lists(log, s, names, windows):
    train, splits = selection.make_splits(log, s)
    ev = _Evaluator(train, splits, lambda sub: build_matrix(sub, {"view": 1.0}), s)
    pool = selection.candidates(ev.matrix)
    out = {}
    for name in names:
        cand = pool[name]
        for params in cand.grid[:3]:
            model = cand.fit(params, ev.matrix, ev.sessions)
            for window in windows:
                ev.window = window
                for split in ev.splits:
                    out[name, repr(params), split, window] = ev._split_lists(cand, model, split)
    return out


@pytest.mark.parametrize("top_n", [3, 100])
def test_the_evaluator_keeps_every_list_and_ndcg(monkeypatch, top_n):
    for log in (taste_shop(seed=3), shop(seed=2)):
        s = selection.Settings(
            only=("stan", "sequential_rules"), max_queries=150, min_queries=50, top_n=top_n
        )
        new = split_lists(log, s, ("stan", "sequential_rules"), (50, 2))
        with monkeypatch.context() as m:
            per_query_path(m)
            old = split_lists(log, s, ("stan", "sequential_rules"), (50, 2))
        assert old.keys() == new.keys()
        for key, (lists, ndcg) in new.items():
            assert_same_csr(lists, old[key][0])
            np.testing.assert_array_equal(ndcg, old[key][1])


@pytest.mark.parametrize("log", [taste_shop(seed=5), shop(seed=3)], ids=["taste", "sessions"])
def test_the_choice_is_the_same(monkeypatch, log):
    s = selection.Settings(
        only=("popularity", "itemknn", "stan", "sequential_rules"),
        max_queries=150,
        min_queries=50,
        max_evaluations=6,
    )
    build = lambda sub: build_matrix(sub, {"view": 1.0})  # noqa: E731
    new = selection.select(log, build, s)
    per_query_path(monkeypatch)
    old = selection.select(log, build, s)
    assert new.query_window == old.query_window and new.evaluated == old.evaluated
    assert new.contexts.keys() == old.contexts.keys()
    for name, choice in new.contexts.items():
        assert choice.weights == old.contexts[name].weights
        assert choice.params == old.contexts[name].params
        assert choice.metrics == old.contexts[name].metrics
        assert choice.reshow == old.contexts[name].reshow
