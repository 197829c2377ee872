"""Session recommenders on small generated sessions (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.base import EventLog, top_k
from recommendations.engine.session import SequenceBlend, SessionKNN, Sessions, Transitions


def _chain_sessions(n_items: int = 10, repeats: int = 5) -> Sessions:
    """Every session walks the deterministic chain 0 -> 1 -> 2 -> ... (with offsets)."""
    seqs = [list(range(start, n_items)) for start in range(n_items - 2) for _ in range(repeats)]
    return Sessions.from_lists(seqs, n_items)


@pytest.mark.parametrize("steps", [1, 3])
def test_transitions_predict_the_next_item_of_a_chain(steps: int) -> None:
    model = Transitions(steps=steps).fit(_chain_sessions())
    for last in range(8):
        scores = model.score_sequence(np.array([last]))
        assert top_k(scores, 1)[0] == last + 1


def test_sequential_rules_weight_pairs_by_one_over_gap() -> None:
    model = Transitions(steps=3).fit(Sessions.from_lists([[0, 1, 2, 3]], 4))
    np.testing.assert_allclose(model.rules.toarray()[0], [0.0, 1.0, 0.5, 1.0 / 3.0])


def test_transition_time_half_life_decays_slow_pairs() -> None:
    sessions = Sessions.from_lists([[0, 1], [0, 2]], 3, timestamps=[[0.0, 10.0], [0.0, 1000.0]])
    model = Transitions(half_life=10.0).fit(sessions)
    np.testing.assert_allclose(model.rules.toarray()[0, 1:], [0.5, 2.0**-100])


def test_sessions_from_log_orders_by_time_and_falls_back_to_users() -> None:
    log = EventLog(
        users=np.array([-1, -1, 4, 4]),
        items=np.array([2, 1, 0, 3]),
        kinds=np.zeros(4, dtype=np.int16),
        timestamps=np.array([5.0, 1.0, 9.0, 2.0]),
        sessions=np.array([0, 0, -1, -1]),
        kind_names=("view",),
        n_users=5,
        n_items=4,
    )
    s = Sessions.from_log(log)
    groups = [s.items[a:b].tolist() for a, b in zip(s.indptr[:-1], s.indptr[1:], strict=True)]
    assert groups == [[1, 2], [3, 0]]


def test_session_knn_recommends_what_similar_sessions_continued_with() -> None:
    # sessions sharing {0, 1} continue with 2; sessions sharing {5, 6} continue with 7
    seqs = [[0, 1, 2]] * 4 + [[5, 6, 7]] * 4 + [[0, 8]]
    model = SessionKNN(k=5, sample_size=10).fit(Sessions.from_lists(seqs, 9))
    first = model.score_sequence(np.array([0, 1]))
    assert first[2] > first[8] > 0.0
    assert first[7] == 0.0
    scores = model.score_sequence(np.array([5, 6]))
    assert scores[2] == 0.0
    assert scores[7] > 0.0


def test_stan_sequential_filter_prefers_items_after_the_match() -> None:
    seqs = [[3, 0, 4]] * 3
    model = SessionKNN(weighting="exp", lambda_spw=1.0, lambda_ipw=1.0, backward_weight=0.0).fit(
        Sessions.from_lists(seqs, 5)
    )
    scores = model.score_sequence(np.array([0]))
    assert scores[4] > 0.0
    assert scores[3] == 0.0


def test_session_knn_sample_keeps_the_most_recent_sessions() -> None:
    seqs = [[0, 1], [0, 2]]  # the second session is more recent
    times = [[0.0, 1.0], [10.0, 11.0]]
    model = SessionKNN(k=1, sample_size=1).fit(Sessions.from_lists(seqs, 3, timestamps=times))
    neigh, _ = model.neighbours(np.array([0]))
    assert neigh.tolist() == [1]


def test_unknown_items_and_empty_sessions_score_zero() -> None:
    model = SessionKNN().fit(_chain_sessions())
    assert not model.score_sequence(np.array([], dtype=np.int64)).any()
    assert not model.score_sequence(np.array([99])).any()
    assert not Transitions().fit(_chain_sessions()).score_sequence(np.array([-1])).any()


def test_blend_combines_max_normalised_components() -> None:
    sessions = _chain_sessions()
    blend = SequenceBlend([(Transitions(), 1.0), (SessionKNN(), 0.0)]).fit(sessions)
    scores = blend.score_sequence(np.array([2]))
    assert scores.max() == pytest.approx(1.0)
    assert top_k(scores, 1)[0] == 3
