"""Per-request helpers over every item, written for 1M-item catalogues: the same values as the
plain numpy expressions they replaced, on scores with zeros, negatives, NaN and infinities."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.hybrid import normalise
from recommendations.engine.reshow import browsed_probability


def _scores(dtype, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    mixed = rng.normal(size=500).astype(dtype)
    mixed[::7] = 0.0
    mixed[3::11] = -0.0
    mixed[5::13] = np.nan
    mixed[6::17] = np.inf
    mixed[8::19] = -np.inf
    sparse = np.zeros(300, dtype=dtype)
    sparse[[4, 90, 200]] = [0.5, 3.0, 1e-9]
    return [mixed, sparse, np.zeros(4, dtype=dtype), np.empty(0, dtype=dtype), np.full(3, np.inf, dtype)]


def _former_normalise(scores, method):
    s = np.asarray(scores, dtype=np.float64)
    s = np.where(np.isfinite(s) & (s > 0), s, 0.0)
    if method == "max":
        top = s.max() if s.size else 0.0
        return s / top if top > 0 else s
    out = np.zeros_like(s)
    positive = np.flatnonzero(s > 0)
    order = positive[np.lexsort((positive, -s[positive]))]
    out[order] = 1.0 / np.arange(1, len(order) + 1)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["max", "rank"])
def test_normalise_equals_the_former_expression(dtype, method):
    for scores in _scores(dtype):
        before = scores.copy()
        got = normalise(scores, method)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, _former_normalise(scores, method))
        np.testing.assert_array_equal(scores, before)  # the caller's array is left alone


def test_browsed_probability_equals_the_former_expression():
    for scores in _scores(np.float64):
        got = browsed_probability(scores)
        np.testing.assert_array_equal(got, 1.0 - np.exp(-np.maximum(scores, 0.0)))
