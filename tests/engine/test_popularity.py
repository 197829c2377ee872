import numpy as np
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from recommendations.engine.base import EventLog
from recommendations.engine.popularity import Popularity, trending

HOUR = 3600.0


def log_from(items, stamps, n_items):
    n = len(items)
    return EventLog(
        users=np.zeros(n, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        kinds=np.zeros(n, dtype=np.int16),
        timestamps=np.asarray(stamps, dtype=np.float64),
        sessions=np.full(n, -1, dtype=np.int64),
        kind_names=("view",),
        n_users=1,
        n_items=n_items,
    )


def test_popularity_same_for_everyone():
    m = sp.csr_matrix(np.array([[1, 0, 2], [1, 0, 0], [0, 0, 5]], dtype=np.float32))
    model = Popularity().fit(m)
    scores = model.score(m[:2])
    assert scores.shape == (2, 3)
    assert_allclose(scores[0], [2, 0, 7])
    assert_allclose(scores[1], scores[0])


def test_decayed_counts_without_baseline():
    log = log_from([0, 1, 1], [100 * HOUR, 76 * HOUR, 76 * HOUR], 3)
    result = trending(log, half_life_hours=24, baseline_factor=None)
    assert_allclose(result.scores, [1.0, 1.0, 0.0], rtol=1e-6)


def test_rising_item_beats_steady_best_seller():
    rng = np.random.default_rng(0)
    now = 120 * 24 * HOUR
    steady = rng.uniform(0, now, 2400)  # item 0: ~20 a day for four months
    burst = rng.uniform(now - 12 * HOUR, now, 25)  # item 1: 25 in the last 12 hours
    items = np.concatenate([np.zeros(2400, int), np.ones(25, int)])
    log = log_from(items, np.concatenate([steady, burst]), 2)
    plain = trending(log, half_life_hours=24, baseline_factor=None, now=now)
    lifted = trending(log, half_life_hours=24, baseline_factor=14, now=now)
    assert plain.scores[0] > plain.scores[1]  # raw decayed count still favours the best-seller
    assert lifted.scores[1] > lifted.scores[0]
    # a steady item keeps roughly its decayed count (lift ~ 1)
    assert 0.7 < lifted.scores[0] / plain.scores[0] < 1.4


def test_per_category_rankings():
    log = log_from([0, 0, 0, 1, 2, 2, 3], [HOUR] * 7, 5)
    categories = np.array([0, 1, 0, 1, -1])
    result = trending(log, half_life_hours=24, categories=categories, baseline_factor=None)
    assert_array_equal(result.by_category[0], [0, 2])
    assert_array_equal(result.by_category[1], [1, 3])  # tie on score -> lower index first
    membership = sp.csr_matrix(np.array([[1, 1], [0, 1], [1, 0], [0, 1], [0, 0]]))
    nested = trending(log, half_life_hours=24, categories=membership, baseline_factor=None)
    assert_array_equal(nested.by_category[1], [0, 1, 3])


def test_matrix_input_uses_column_sums():
    m = sp.csr_matrix(np.array([[0.5, 0, 1], [0.5, 0, 0]], dtype=np.float32))
    assert_allclose(trending(m).scores, [1.0, 0.0, 1.0])
