"""The deep extra is optional: gate logic, holdout and the task's no-torch path need no PyTorch."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommendations import tasks
from recommendations.engine import deep
from recommendations.engine.deep import holdout_last_items, should_serve
from recommendations.engine.session import Sessions
from recommendations.training import deep as deep_tasks


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import torch`` fail (a None entry in sys.modules blocks the import)."""
    monkeypatch.setitem(sys.modules, "torch", None)


@pytest.mark.usefixtures("no_torch")
def test_is_available_is_false_without_torch() -> None:
    assert deep.is_available() is False


def test_is_available_follows_the_installed_torch() -> None:
    assert deep.is_available() is (importlib.util.find_spec("torch") is not None)


def test_engine_and_offline_registry_import_without_torch() -> None:
    # a fresh interpreter where ``import torch`` fails: the engine imports, gru4rec is not offered
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from recommendations.engine import deep\n"
        "from recommendations.offline.algorithms import ALGORITHMS\n"
        "print(deep.is_available(), 'gru4rec' in ALGORITHMS, 'torch' in sys.modules and sys.modules['torch'] is not None)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


@pytest.mark.usefixtures("no_torch")
def test_task_skips_without_torch_and_touches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise AssertionError("the Event table must not be read without torch")

    monkeypatch.setattr(deep_tasks, "visitor_sequences", fail)
    # a direct call runs the task body synchronously; no database access is allowed here either
    assert deep_tasks.train_deep_model() == {"skipped": "torch not installed"}
    assert tasks.train_deep_model() == {"skipped": "torch not installed"}
    assert tasks.train_deep_model.name == "recommendations.train_deep_model"


def test_holdout_removes_exactly_the_targets() -> None:
    data = Sessions.from_lists([[0, 1, 2], [3], [4, 5]], 6, timestamps=[[0, 1, 9], [5], [2, 3]])
    train, cases = holdout_last_items(data, 1)  # the most recent eligible session is the first
    assert [(c.tolist(), t) for c, t in cases] == [([0, 1], 2)]
    np.testing.assert_array_equal(train.items, [0, 1, 3, 4, 5])
    np.testing.assert_array_equal(train.indptr, [0, 2, 3, 5])


@pytest.mark.parametrize(
    ("deep", "blend", "metric", "expected"),
    [
        ({"mrr@20": 0.36}, {"mrr@20": 0.35}, "mrr@20", True),
        ({"mrr@20": 0.35}, {"mrr@20": 0.35}, "mrr@20", False),  # a tie is not better
        ({"mrr@20": 0.30}, {"mrr@20": 0.35}, "mrr@20", False),
        ({"MRR@20": 0.40}, {"MRR@20": 0.35}, "mrr@20", True),  # runner-style keys
        ({"hr@20": 0.9, "mrr@20": 0.1}, {"hr@20": 0.5, "mrr@20": 0.2}, "hr@20", True),
        ({"hr@20": 0.9}, {"mrr@20": 0.2}, "mrr@20", False),  # missing on one side
        ({"mrr@20": float("nan")}, {"mrr@20": 0.2}, "mrr@20", False),
    ],
)
def test_should_serve_only_when_strictly_better(
    deep: dict[str, float], blend: dict[str, float], metric: str, expected: bool
) -> None:
    assert should_serve(deep, blend, metric) is expected
