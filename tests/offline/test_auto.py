"""The default algorithm validates on its own split, chooses, then recommends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommendations.engine.selection import Settings
from recommendations.offline import auto
from recommendations.offline.algorithms import DEFAULT_ALGORITHM
from recommendations.offline.batch import recommend_users
from recommendations.offline.events import RawEvents

from .conftest import write_csv


def taste_events(n_users=300, n_items=160, groups=8, per_user=10, seed=0) -> RawEvents:
    rng = np.random.default_rng(seed)
    users, items, stamps = [], [], []
    t = 1_700_000_000
    for u in range(n_users):
        liked = np.flatnonzero(np.arange(n_items) % groups == u % groups)
        for item in rng.choice(liked, size=per_user, replace=False):
            users.append(f"u{u}")
            items.append(f"i{item}")
            stamps.append(t + int(rng.integers(0, 10**6)))
    return RawEvents.from_columns(items, "view", stamps, users=users)


@pytest.fixture
def quick(monkeypatch):
    fast = ("popularity", "itemknn", "rp3beta", "stan", "sequential_rules")
    monkeypatch.setattr(
        auto, "SETTINGS", Settings(budget_seconds=2.0, max_queries=200, min_queries=50, only=fast)
    )


def test_auto_is_the_default_and_reports_its_choice(quick):
    assert DEFAULT_ALGORITHM == "auto"
    lines: list[str] = []
    events = taste_events()
    rows = recommend_users(events, ["u0", "u1", "nobody"], 5, report=lines.append)
    text = "\n".join(lines)
    assert "auto/user:" in text and "auto/session:" in text and "best single model" in text
    # the taste groups are found: u0 likes items 0, 8, 16, ... (group 0, 20 items, 10 seen)
    u0 = [item for user, _, item, _ in rows if user == "u0"]
    assert len(u0) == 5 and all(int(item[1:]) % 8 == 0 for item in u0)


def test_auto_on_too_little_data_keeps_the_default_blend_and_says_so(train_csv: Path):
    from recommendations.offline.events import read_events_csv

    lines: list[str] = []
    rows = recommend_users(read_events_csv(train_csv), ["u1"], 3, report=lines.append)
    assert rows and "too little data" in "\n".join(lines)


def test_the_command_prints_the_choice(quick, tmp_path: Path):
    from io import StringIO

    from django.core.management import call_command

    events = taste_events(n_users=200)
    path = write_csv(
        tmp_path / "train.csv",
        ["user_id", "item_id", "event", "timestamp"],
        [
            [u, i, "view", int(t)]
            for u, i, t in zip(events.users, events.items, events.timestamps, strict=True)
        ],
    )
    users = tmp_path / "users.txt"
    users.write_text("u3\n")
    out = StringIO()
    call_command("recommendations_offline", "recommend", "--events", str(path), "--users", str(users),
                 "--k", "4", "--out", str(tmp_path / "recs.csv"), stdout=out)  # fmt: skip
    assert "auto/user:" in out.getvalue()
    assert len((tmp_path / "recs.csv").read_text().splitlines()) == 5
