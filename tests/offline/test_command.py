"""The recommendations_offline management command (argument handling and errors)."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from .conftest import write_csv


def test_recommend_users_writes_the_contract_csv(train_csv: Path, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("u2\nghost\n")
    out = tmp_path / "recs.csv"
    call_command("recommendations_offline", "recommend", "--events", str(train_csv), "--users", str(users),
                 "--k", "4", "--out", str(out), stdout=StringIO())  # fmt: skip
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["user_id", "rank", "item_id", "score"]
    assert [r[1] for r in rows[1:] if r[0] == "ghost"] == ["1", "2", "3", "4"]


def test_recommend_context_with_a_named_algorithm(train_csv: Path, tmp_path: Path) -> None:
    ctx = write_csv(
        tmp_path / "ctx.csv", ["session_id", "item_id", "event", "timestamp"], [["v", "item1", "view", 1]]
    )
    out = tmp_path / "recs.csv"
    call_command("recommendations_offline", "recommend", "--events", str(train_csv), "--context", str(ctx),
                 "--k", "2", "--algorithm", "transitions", "--out", str(out), stdout=StringIO())  # fmt: skip
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["session_id"] == "v"
    assert rows[0]["rank"] == "1"
    assert rows[0]["item_id"] == "item2"


def test_unknown_algorithm_lists_the_valid_names(train_csv: Path, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("u1\n")
    with pytest.raises(CommandError, match="valid names: auto, hybrid, popularity"):
        call_command("recommendations_offline", "recommend", "--events", str(train_csv), "--users", str(users),
                     "--k", "3", "--algorithm", "magic", "--out", str(tmp_path / "o.csv"))  # fmt: skip


def test_bad_row_becomes_a_command_error_naming_the_row(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "t.csv", ["user_id", "item_id", "event", "timestamp"],
                      [["u", "a", "view", 1], ["u", "b", "wink", 2]])  # fmt: skip
    users = tmp_path / "users.txt"
    users.write_text("u\n")
    with pytest.raises(CommandError, match="row 3: unknown event kind 'wink'"):
        call_command("recommendations_offline", "recommend", "--events", str(train), "--users", str(users),
                     "--k", "3", "--out", str(tmp_path / "o.csv"))  # fmt: skip


def test_evaluate_on_an_events_file_prints_a_table(train_csv: Path) -> None:
    out = StringIO()
    call_command("recommendations_offline", "evaluate", "--events", str(train_csv), "--k", "5",
                 "--algorithms", "popularity", "transitions", stdout=out, stderr=StringIO())  # fmt: skip
    text = out.getvalue()
    assert "| popularity |" in text
    assert "| transitions |" in text
    assert "NDCG@5" in text
    # both protocols: the file's own (temporal, future-shaped) and the random per-user holdout
    assert "train / temporal:" in text and "train / holdout:" in text
