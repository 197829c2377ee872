import numpy as np
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from recommendations.engine.bought_together import BoughtTogether

# 6 baskets over 4 items
BASKETS = np.array(
    [
        [1, 1, 0, 0],
        [1, 1, 0, 0],
        [1, 1, 1, 0],
        [0, 0, 1, 1],
        [0, 0, 1, 1],
        [1, 0, 1, 0],
    ],
    dtype=np.float32,
)


def test_lift_by_hand():
    model = BoughtTogether(min_support=1, min_lift=0.0).fit(sp.csr_matrix(BASKETS * 3))
    # support: item0=4, item1=3, item2=4, item3=2; N=6
    assert_allclose(model.support, [4, 3, 4, 2])
    lift = model.lift.toarray()
    assert_allclose(lift[0, 1], 3 * 6 / (4 * 3))  # 1.5
    assert_allclose(lift[0, 2], 2 * 6 / (4 * 4))  # 0.75
    assert_allclose(lift[2, 3], 2 * 6 / (4 * 2))  # 1.5
    assert_allclose(lift, lift.T)
    assert_allclose(np.diag(lift), 0)
    assert_allclose(model.confidence.toarray()[1, 0], 1.0)  # every basket with 1 has 0


def test_thresholds_filter_pairs():
    model = BoughtTogether(min_support=2, min_lift=1.0).fit(sp.csr_matrix(BASKETS))
    lift = model.lift.toarray()
    assert lift[0, 2] == 0  # lift 0.75 < 1
    assert lift[1, 2] == 0  # together once only
    assert lift[0, 1] > 0
    assert lift[2, 3] > 0


def test_for_items_excludes_query_and_ranks():
    model = BoughtTogether(min_support=1, min_lift=0.0).fit(sp.csr_matrix(BASKETS))
    idx, scores = model.for_items([0], n=5)
    assert 0 not in idx
    assert_array_equal(idx, [1, 2])  # lift 1.5 then 0.75; item 3 never with 0
    assert np.all(np.diff(scores) <= 0)
    idx2, _ = model.for_items([0, 1], n=5)
    assert set(idx2.tolist()) == {2}
    empty, _ = model.for_items([], n=5)
    assert empty.size == 0
