"""Ranking metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommendations.engine.metrics import (
    MetricAccumulator,
    coverage,
    hit_rate,
    mrr,
    ndcg,
    novelty,
    precision,
    recall,
    self_information,
)

REC = np.array([5, 3, 9, 1])


def test_hit_rate_and_mrr_depend_on_the_cut_off() -> None:
    assert hit_rate(REC, [9], 3) == 1.0
    assert hit_rate(REC, [9], 2) == 0.0
    assert mrr(REC, [9], 3) == pytest.approx(1 / 3)
    assert mrr(REC, [9, 3], 4) == pytest.approx(1 / 2)  # first relevant item counts
    assert mrr(REC, [42], 4) == 0.0


def test_precision_and_recall() -> None:
    assert precision(REC, [3, 1, 42], 4) == pytest.approx(2 / 4)
    assert recall(REC, [3, 1, 42], 4) == pytest.approx(2 / 3)
    assert recall(REC, [], 4) == 0.0


def test_ndcg_by_hand() -> None:
    # relevant at ranks 2 and 4; ideal puts two hits at ranks 1 and 2
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg(REC, [3, 1], 4) == pytest.approx(dcg / idcg)
    assert ndcg(REC, [5], 4) == pytest.approx(1.0)
    assert ndcg(REC, [9], 20) == pytest.approx(1 / math.log2(4))


def test_coverage_and_novelty() -> None:
    assert coverage([np.array([0, 1]), np.array([1, 2])], 6) == pytest.approx(0.5)
    info = self_information(np.array([8, 4, 1, 0]), 8)
    np.testing.assert_allclose(info, [0.0, 1.0, 3.0, 3.0])
    assert novelty([np.array([0, 1]), np.array([2])], info) == pytest.approx(4 / 3)


def test_accumulator_averages_lists() -> None:
    acc = MetricAccumulator(k=2, n_items=10, info=np.ones(10))
    acc.add(np.array([1, 2, 3]), [2])
    acc.add(np.array([4, 5]), [9])
    res = acc.result()
    assert res["HR@2"] == pytest.approx(0.5)
    assert res["MRR@2"] == pytest.approx(0.25)
    assert res["Precision@2"] == pytest.approx(0.25)
    assert res["Coverage"] == pytest.approx(0.4)  # items 1, 2, 4, 5 (3 is beyond k)
    assert res["Novelty"] == pytest.approx(1.0)
    assert res["n"] == 2
