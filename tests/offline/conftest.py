"""Small generated event files for the offline pipeline (never ../shared/data)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def train_csv(tmp_path: Path) -> Path:
    """40 users in 4 taste groups of 5 items each, plus anonymous sessions walking a chain."""
    rng = np.random.default_rng(0)
    rows: list[list[object]] = []
    t = 1_700_000_000
    for user in range(40):
        group = user % 4
        for item in rng.permutation(5)[:4]:
            kind = rng.choice(["view", "add_to_cart", "purchase"])
            rows.append([f"extra{t}", f"item{group * 5 + item}", kind, t, f"u{user}", ""])
            t += 60
    for session in range(30):
        for step in range(4):
            rows.append(["", f"item{(session % 5) + step}", "view", t, "", f"s{session}"])
            t += 30
    return write_csv(
        tmp_path / "train.csv", ["note", "item_id", "event", "timestamp", "user_id", "session_id"], rows
    )
