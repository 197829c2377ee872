"""The optional GRU model (runs only where the [deep] extra, i.e. PyTorch, is installed)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from recommendations.engine.base import top_k  # noqa: E402
from recommendations.engine.deep import (  # noqa: E402
    GRU4Rec,
    evaluate_next_item,
    holdout_last_items,
)
from recommendations.engine.session import Sessions  # noqa: E402

N_ITEMS = 30
SMALL = {"embedding_dim": 16, "hidden_size": 32, "epochs": 20, "batch_size": 32, "max_seconds": None}


def _chains(n_sessions: int = 200, seed: int = 0) -> Sessions:
    """Item i is always followed by i + 1; sessions start anywhere and run 2..6 items."""
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(n_sessions):
        length = int(rng.integers(2, 7))
        start = int(rng.integers(0, N_ITEMS - length + 1))
        seqs.append(list(range(start, start + length)))
    return Sessions.from_lists(seqs, N_ITEMS)


@pytest.fixture(scope="module")
def fitted() -> GRU4Rec:
    return GRU4Rec(**SMALL, n_negatives=8).fit(_chains())


def test_learns_the_deterministic_successor(fitted: GRU4Rec) -> None:
    # every context that ends in i: the successor i + 1 must rank first
    contexts = [np.arange(max(0, i - 2), i + 1) for i in range(N_ITEMS - 1)]
    top1 = [int(top_k(fitted.score_sequence(c), 1)[0]) for c in contexts]
    hits = np.mean([t == int(c[-1]) + 1 for t, c in zip(top1, contexts, strict=True)])
    assert hits >= 0.9


def test_holdout_metrics_beat_chance(fitted: GRU4Rec) -> None:
    _, cases = holdout_last_items(_chains(seed=1), 50)
    metrics = evaluate_next_item(fitted, cases, k=1)
    assert metrics["n"] == 50
    assert metrics["hr@1"] >= 0.9  # chance would be 1/30


def test_scores_are_a_distribution_and_unknown_context_scores_nothing(fitted: GRU4Rec) -> None:
    scores = fitted.score_sequence(np.array([3, 4]))
    assert scores.shape == (N_ITEMS,)
    np.testing.assert_allclose(scores.sum(), 1.0)
    assert (scores > 0).all()
    np.testing.assert_array_equal(fitted.score_sequence(np.array([-1, N_ITEMS + 5])), np.zeros(N_ITEMS))


def test_same_seed_same_scores_other_seed_different() -> None:
    data = _chains(60)
    config = {**SMALL, "epochs": 3}
    a = GRU4Rec(**config, seed=7).fit(data).score_sequence(np.array([1, 2, 3]))
    b = GRU4Rec(**config, seed=7).fit(data).score_sequence(np.array([1, 2, 3]))
    c = GRU4Rec(**config, seed=8).fit(data).score_sequence(np.array([1, 2, 3]))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_full_softmax_also_learns() -> None:
    model = GRU4Rec(**SMALL, n_negatives=None).fit(_chains(seed=2))
    assert int(top_k(model.score_sequence(np.array([10, 11])), 1)[0]) == 12


def test_bytes_round_trip(fitted: GRU4Rec) -> None:
    restored = GRU4Rec.from_bytes(fitted.to_bytes())
    assert restored.n_items == fitted.n_items
    assert restored.config == fitted.config
    for context in (np.array([0]), np.array([5, 6, 7]), np.arange(25)):
        np.testing.assert_array_equal(restored.score_sequence(context), fitted.score_sequence(context))


def test_saving_an_unfitted_model_is_an_error() -> None:
    with pytest.raises(ValueError, match="fit"):
        GRU4Rec().to_bytes()


def test_max_seconds_bounds_training() -> None:
    model = GRU4Rec(**{**SMALL, "epochs": 1000, "max_seconds": 0.0}).fit(_chains(60))
    assert model.epochs_run == 1
