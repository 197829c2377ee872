"""The CSV contract of batch recommendations, through recommendations.offline (no Django)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from recommendations.offline.algorithms import ALGORITHMS
from recommendations.offline.batch import read_contexts, recommend_contexts, recommend_users, write_rows
from recommendations.offline.events import EventFileError, read_events_csv

from .conftest import write_csv


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_user_recommendations_rank_from_one_and_exclude_seen(
    train_csv: Path, tmp_path: Path, algorithm: str
) -> None:
    train = read_events_csv(train_csv)
    rows = recommend_users(train, ["u0", "u5", "stranger"], k=5, algorithm=algorithm)
    out = tmp_path / "recs.csv"
    write_rows(out, "user_id", rows)
    with out.open() as handle:
        assert handle.readline().strip() == "user_id,rank,item_id,score"
    recs = _read(out)
    seen = {u: {i for uu, i in zip(train.users, train.items, strict=True) if uu == u} for u in ("u0", "u5")}
    for user in ("u0", "u5", "stranger"):
        mine = [r for r in recs if r["user_id"] == user]
        assert [int(r["rank"]) for r in mine] == list(range(1, len(mine) + 1))
        assert len({r["item_id"] for r in mine}) == len(mine) <= 5
        assert not {r["item_id"] for r in mine} & seen.get(user, set())
    # an unknown user gets the popularity fallback: always a full list
    assert len([r for r in recs if r["user_id"] == "stranger"]) == 5


def test_hybrid_prefers_the_users_taste_group(train_csv: Path) -> None:
    rows = recommend_users(read_events_csv(train_csv), ["u1"], k=1)
    assert rows[0][2] in {f"item{i}" for i in range(5, 10)}  # u1 is in group 1 (items 5..9)


def test_context_recommendations_follow_the_visitors_session(train_csv: Path, tmp_path: Path) -> None:
    ctx = write_csv(
        tmp_path / "ctx.csv",
        ["session_id", "item_id", "event", "timestamp"],
        [
            ["v1", "item1", "view", 10],
            ["v1", "item2", "view", 20],
            ["v2", "item3", "purchase", 5],
            ["v3", "zzz", "view", 1],
        ],
    )
    rows = recommend_contexts(read_events_csv(train_csv), read_contexts(ctx), k=3)
    by_session: dict[str, list[str]] = {}
    for session, rank, item, _ in rows:
        by_session.setdefault(session, []).append(item)
        assert rank == len(by_session[session])
    # the chain continues 1 -> 2 -> 3 (re-viewing item2 is allowed: re-views are common next clicks)
    assert "item3" in by_session["v1"][:2]
    assert "item3" not in by_session["v2"]  # purchased in the context
    assert len(by_session["v3"]) == 3  # nothing known: popularity


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("item_id,event,user_id\nA,view,u\n", "missing column(s) timestamp"),
        ("item_id,event,timestamp\nA,view,1\n", "user_id or session_id"),
        ("item_id,event,timestamp,user_id\nA,view,1,u\nB,view,yesterday,u\n", "row 3: bad timestamp"),
        (
            "item_id,event,timestamp,user_id\nA,view,1,u\nB,teleport,2,u\n",
            "row 3: unknown event kind 'teleport'",
        ),
        ("item_id,event,timestamp,user_id,session_id\nA,view,1,,\n", "row 2: needs a user_id or session_id"),
        ("item_id,event,timestamp,user_id\n,view,1,u\n", "row 2: empty item_id"),
    ],
)
def test_bad_files_name_the_problem_and_row(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(EventFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_events_csv(path)


def test_column_order_is_free_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        ["timestamp", "junk", "event", "session_id", "item_id"],
        [[5, "x", "click", "s", "i"]],
    )
    events = read_events_csv(path)
    assert (events.items.tolist(), events.kinds.tolist(), events.sessions.tolist()) == (
        ["i"],
        ["click"],
        ["s"],
    )
    assert events.users.tolist() == [""]
    assert events.timestamps.tolist() == [5.0]
