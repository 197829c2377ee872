"""Protocols and the evaluation runner on generated data."""

from __future__ import annotations

import re

import numpy as np
import pytest

from recommendations.offline.datasets import Dataset
from recommendations.offline.events import RawEvents
from recommendations.offline.protocols import holdout, leave_last_out, make_task, next_item, temporal
from recommendations.offline.runner import evaluate, format_table


def _user_sequences() -> Dataset:
    users, items, times = [], [], []
    for u in range(6):
        base = ["a", "b", "c", "d"]
        for pos in range(4):
            item = base[(u // 2 + pos) % 4]  # rotations, so every last item is seen in training
            users.append(f"u{u}")
            items.append(item)
            times.append(pos)
    return Dataset(
        "seq",
        RawEvents.from_columns(items, "purchase", times, users=users),
        default_protocol="leave-last-out",
    )


def _chain_sessions(n_sessions: int = 40) -> RawEvents:
    sessions, items, times = [], [], []
    t = 0.0
    for s in range(n_sessions):
        for step in range(5):
            sessions.append(f"s{s}")
            items.append(f"i{step}")
            times.append(t)
            t += 10.0
    return RawEvents.from_columns(items, "view", times, sessions=sessions)


def test_leave_last_out_holds_out_the_last_item() -> None:
    task = leave_last_out(_user_sequences())
    assert len(task.cases) == 6
    case = task.cases[0]
    assert case.items == ("a", "b", "c")
    assert case.relevant == ("d",)
    assert case.user == "u0"
    assert len(task.train) == 6 * 3
    assert "d" not in task.train.items[task.train.users == "u0"]
    val = leave_last_out(_user_sequences(), validation=True)
    assert val.cases[0].relevant == ("c",)
    assert len(val.train) == 6 * 2


def test_next_item_predicts_every_position_after_the_first() -> None:
    events = _chain_sessions()
    train = events.take(np.flatnonzero(events.timestamps < 1500))
    test = events.take(np.flatnonzero(events.timestamps >= 1500))
    task = next_item(Dataset("chain", events, train=train, test=test))
    n_test_sessions = len(set(test.sessions.tolist()))
    assert len(task.cases) == n_test_sessions * 4
    assert task.cases[0].items == ("i0",)
    assert task.cases[0].relevant == ("i1",)


def test_temporal_split_keeps_sessions_whole() -> None:
    task = temporal(Dataset("chain", _chain_sessions()), test_days=400 / 86400)
    train_sessions = set(task.train.sessions.tolist())
    assert train_sessions
    assert task.cases
    assert max(task.train.timestamps) < 2000 - 400 + 50


def test_holdout_is_seeded_and_disjoint() -> None:
    a = holdout(_user_sequences(), fraction=0.5, seed=1)
    b = holdout(_user_sequences(), fraction=0.5, seed=1)
    assert [c.relevant for c in a.cases] == [c.relevant for c in b.cases]
    for case in a.cases:
        assert not set(case.relevant) & set(case.items)


def test_runner_ranks_the_chain_perfectly_with_transitions() -> None:
    events = _chain_sessions()
    train = events.take(np.flatnonzero(events.timestamps < 1500))
    test = events.take(np.flatnonzero(events.timestamps >= 1500))
    task = make_task(Dataset("chain", events, train=train, test=test))
    results = {
        r.algorithm: r for r in evaluate(task, ["transitions", "popularity", "hybrid"], k=3, progress=False)
    }
    assert results["transitions"].metrics["HR@3"] == pytest.approx(1.0)
    assert results["transitions"].metrics["MRR@3"] == pytest.approx(1.0)
    assert results["hybrid"].metrics["HR@3"] == pytest.approx(1.0)
    assert results["popularity"].metrics["MRR@3"] < 1.0
    assert "| transitions |" in format_table(list(results.values()), 3)


def test_unknown_algorithm_and_protocol_are_rejected() -> None:
    with pytest.raises(ValueError, match="valid names"):
        evaluate(leave_last_out(_user_sequences()), ["nope"], progress=False)
    with pytest.raises(ValueError, match="unknown protocol"):
        make_task(_user_sequences(), "sideways")


def test_offline_evaluation_reports_progress_without_a_progress_bar_library() -> None:
    from io import StringIO

    out = StringIO()
    results = evaluate(leave_last_out(_user_sequences()), ["popularity"], k=3, stream=out)
    assert [r.algorithm for r in results] == ["popularity"]
    assert re.search(r"popularity: (\d+)/\1\n$", out.getvalue()), out.getvalue()


def test_holdout_without_users_holds_out_within_sessions_and_queries_them_as_known() -> None:
    from recommendations.offline.events import DEFAULT_EVENT_WEIGHTS
    from recommendations.offline.prepare import encode

    task = holdout(Dataset("chain", _chain_sessions(10)), fraction=0.4, seed=0)
    assert len(task.cases) == 10
    enc = encode(task.train, DEFAULT_EVENT_WEIGHTS)
    for case in task.cases:
        assert case.session and not case.user and len(case.relevant) == 2
        query = enc.query(case.items, case.timestamps, case.kinds, case.user, case.session)
        assert query.row >= 0  # the session's remaining clicks are its training row
        seen = set(enc.items.ids[enc.seen_items(query.row)].tolist())
        assert seen == set(case.items) and not seen & set(case.relevant)


def test_holdout_in_mixed_data_keeps_anonymous_sessions_as_their_own_actors() -> None:
    from recommendations.offline.events import RawEvents

    items = ["a", "b", "c", "d", "e"] * 4
    users = ["u1"] * 5 + ["u2"] * 5 + [""] * 10
    sessions = ["x"] * 5 + ["y"] * 5 + ["s1"] * 5 + ["s2"] * 5
    events = RawEvents.from_columns(items, "view", list(range(20)), users=users, sessions=sessions)
    task = holdout(Dataset("mixed", events), fraction=0.4, seed=0)
    assert len(task.train.items) == 12  # 3 of 5 items of each of the 4 actors: nothing dropped
    assert sorted((c.user, c.session) for c in task.cases) == [("", "s1"), ("", "s2"), ("u1", ""), ("u2", "")]
