"""The self-evaluation scores its queries in batches bounded in query x item cells (a dense model's
block at 1M items was 2 GiB a batch): the batch never changes a list, a metric or a choice."""

from __future__ import annotations

import pytest

from recommendations.engine import evaluator, selection
from tests.engine.test_selection import build, noisy_shop, settings


def test_the_batch_is_256_queries_until_the_cells_cap_it():
    assert evaluator.batch_size(1) == evaluator.batch_size(65_536) == 256
    assert evaluator.batch_size(1_000_000) == 16
    assert evaluator.batch_size(10**9) == 1
    for n_items in (65_537, 300_000, 1_000_000, 30_000_000):
        assert evaluator.batch_size(n_items) * n_items <= max(evaluator.DENSE_CELLS, n_items)


@pytest.mark.parametrize("batch", [3])
def test_small_batches_choose_exactly_what_one_batch_of_256_does(monkeypatch, batch):
    log = noisy_shop()
    everything = settings(only=(*selection.candidates(build(log)),), max_evaluations=6)
    whole = selection.select(log, build, everything).as_dict()

    rows: list[int] = []
    dense = evaluator._dense_top_lists
    monkeypatch.setattr(evaluator, "DENSE_CELLS", batch * log.n_items)
    monkeypatch.setattr(evaluator, "_dense_top_lists", lambda b, *a: rows.append(len(b)) or dense(b, *a))
    batched = selection.select(log, build, everything).as_dict()

    assert rows and max(rows) == batch  # iALS was scored in the small batches
    for clocked in ("cost", "seconds"):  # wall-clock seconds: what the batch may change
        del whole[clocked], batched[clocked]
    assert batched == whole
