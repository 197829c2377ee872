import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from recommendations.engine.base import EventLog
from recommendations.engine.interactions import build_matrix, encode_log, saturate

DAY = 86_400.0
WEIGHTS = {"view": 1.0, "cart": 3.0, "remove": -3.0}


def make_log(users, items, kinds, stamps, n_users=3, n_items=4):
    names = ("cart", "remove", "view")
    return EventLog(
        users=np.asarray(users, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        kinds=np.asarray([names.index(k) for k in kinds], dtype=np.int16),
        timestamps=np.asarray(stamps, dtype=np.float64),
        sessions=np.full(len(users), -1, dtype=np.int64),
        kind_names=names,
        n_users=n_users,
        n_items=n_items,
    )


def test_kind_weights_and_unknown_kinds():
    log = make_log([0, 0, 1], [0, 1, 2], ["view", "cart", "view"], [0, 0, 0])
    m = build_matrix(log, {"view": 2.0}).toarray()
    assert m.dtype == np.float32
    assert_allclose(m[0], [2.0, 0.0, 0.0, 0.0])  # cart has no weight -> nothing stored
    assert_allclose(m[1], [0.0, 0.0, 2.0, 0.0])


def test_decay_halves_at_half_life():
    log = make_log([0, 1], [0, 0], ["view", "view"], [10 * DAY, 3 * DAY])
    m = build_matrix(log, WEIGHTS, half_life_days=7.0, now=10 * DAY).toarray()
    assert_allclose(m[0, 0], 1.0)
    assert_allclose(m[1, 0], 0.5, rtol=1e-6)
    m2 = build_matrix(log, WEIGHTS, half_life_days=3.5, now=10 * DAY).toarray()
    assert_allclose(m2[1, 0], 0.25, rtol=1e-6)


def test_now_defaults_to_newest_event():
    log = make_log([0, 1], [0, 1], ["view", "view"], [2 * DAY, 4 * DAY])
    m = build_matrix(log, WEIGHTS, half_life_days=2.0).toarray()
    assert_allclose([m[0, 0], m[1, 1]], [0.5, 1.0], rtol=1e-6)


def test_dedupe_saturates_repeated_identical_events():
    n = 100
    log = make_log([0] * n + [1], [0] * n + [0], ["view"] * (n + 1), [0.0] * (n + 1))
    deduped = build_matrix(log, WEIGHTS).toarray()
    linear = build_matrix(log, WEIGHTS, dedupe=False).toarray()
    assert_allclose(linear[0, 0], n)
    assert_allclose(deduped[0, 0], 1.0 + np.log(n), rtol=1e-6)
    assert_allclose(deduped[1, 0], 1.0)  # a single event keeps its exact weight
    assert deduped[0, 0] < 10


def test_saturate_is_continuous_and_monotone():
    x = np.linspace(0, 50, 1001)
    y = saturate(x)
    assert np.all(np.diff(y) > 0)
    assert_allclose(saturate(np.array([1.0 - 1e-9, 1.0 + 1e-9])), [1.0, 1.0], atol=1e-8)


def test_negative_weights_cancel_and_clip_at_zero():
    log = make_log(
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 1],
        ["cart", "remove", "view", "remove", "remove"],
        [0.0] * 5,
    )
    m = build_matrix(log, WEIGHTS)
    assert_allclose(m.toarray()[0, 0], 0.0)
    assert_allclose(m.toarray()[1, 1], 0.0)  # 1 - 3 * (1 + ln 2) < 0 -> clipped
    assert m.nnz == 0  # zeros are not stored


def test_heavy_users_are_damped():
    rng = np.random.default_rng(0)
    n_bot = 400
    items = np.concatenate([[0, 1], rng.integers(0, 4, n_bot)])
    users = np.concatenate([[0, 0], np.ones(n_bot, dtype=np.int64)])
    log = make_log(users, items, ["view"] * len(users), np.zeros(len(users)))
    plain = build_matrix(log, WEIGHTS).toarray()
    damped = build_matrix(log, WEIGHTS, max_events_per_user=100).toarray()
    assert_allclose(damped[0], plain[0])  # normal users untouched
    assert_allclose(damped[1], plain[1] * np.sqrt(100 / n_bot), rtol=1e-6)


def test_anonymous_rows_are_ignored():
    log = make_log([-1, 2], [0, 3], ["view", "view"], [0.0, 0.0])
    m = build_matrix(log, WEIGHTS)
    assert m.shape == (3, 4)
    assert_array_equal(m.nonzero(), ([2], [3]))


def test_encode_log_maps_ids_deterministically():
    log, users, items = encode_log(
        ["u2", "u1", "", "u2"],
        ["sku-b", "sku-a", "sku-b", "sku-c"],
        ["view", "cart", "view", "view"],
        [3.0, 1.0, 2.0, 4.0],
        session_ids=["s1", None, "s2", "s1"],
    )
    assert log.n_users == 2
    assert log.n_items == 3
    assert_array_equal(log.users, [users["u2"], users["u1"], -1, users["u2"]])
    assert_array_equal(items.ids[log.items], ["sku-b", "sku-a", "sku-b", "sku-c"])
    assert log.kind_names == ("cart", "view")
    assert_array_equal(np.asarray(log.kind_names)[log.kinds], ["view", "cart", "view", "view"])
    assert log.sessions[0] == log.sessions[3] != log.sessions[2]
    assert log.sessions[1] == -1
    assert_array_equal(items.lookup(["sku-c", "nope"]), [items["sku-c"], -1])
    m = build_matrix(log, WEIGHTS | {"cart": 3.0})
    assert m[users["u1"], items["sku-a"]] == pytest.approx(3.0)


def test_encode_log_accepts_datetimes():
    stamps = np.array(["1970-01-02T00:00:00", "1970-01-01T00:00:00"], dtype="datetime64[s]")
    log, _, _ = encode_log(["a", "b"], ["x", "y"], ["view", "view"], stamps)
    assert_allclose(log.timestamps, [DAY, 0.0])


def test_encode_log_rejects_ragged_columns():
    with pytest.raises(ValueError):
        encode_log(["a"], ["x", "y"], ["view"], [0.0])
