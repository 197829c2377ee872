"""The offline default follows its own holdout on re-showing a known user's items, and the offline
protocols leave those items in the ranking exactly when it does (an honest metric)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from recommendations.engine.base import EventLog
from recommendations.engine.reshow import purchases_model
from recommendations.engine.selection import Settings
from recommendations.offline import auto
from recommendations.offline.batch import recommend_users
from recommendations.offline.datasets import Dataset
from recommendations.offline.events import RawEvents
from recommendations.offline.protocols import holdout, leave_last_out
from recommendations.offline.runner import evaluate
from tests.engine.test_reshow_choice import fresh_shop, repeat_shop


def raw(log: EventLog) -> RawEvents:
    return RawEvents.from_columns(
        items=[f"i{i}" for i in log.items.tolist()],
        kinds=[log.kind_names[k] for k in log.kinds.tolist()],
        timestamps=log.timestamps,
        users=[f"u{u}" for u in log.users.tolist()],
        sessions=[f"s{s}" for s in log.sessions.tolist()],
    )


@pytest.fixture
def quick(monkeypatch):
    settings = Settings(
        budget_seconds=0.0,
        max_queries=100,
        min_queries=50,
        only=("popularity", "itemknn"),
        contexts=("user", "session"),
        # this shop's 100 queries cannot show popularity's small gain at 2 standard errors; the test
        # is about re-showing on top of the chosen blend, so the blend rule is the plain margin here
        # (the standard-error rule has its own tests in tests/engine/test_selection.py)
        margin_se=0.0,
    )
    monkeypatch.setattr(auto, "SETTINGS", settings)


def test_where_shoppers_come_back_auto_re_shows_and_the_metric_counts_it(quick, monkeypatch):
    dataset = Dataset("repeat", raw(repeat_shop()), default_protocol="leave-last-out")
    task = leave_last_out(dataset)
    assert any(case.relevant[0] in case.items for case in task.cases)  # targets touched before
    reshown = evaluate(task, ["auto"], k=10, progress=False)[0]
    assert "re-shows the shopper's own items" in reshown.note
    monkeypatch.setattr(auto, "SETTINGS", replace(auto.SETTINGS, reshow=False))
    never = evaluate(task, ["auto"], k=10, progress=False)[0]
    assert "re-shows" not in never.note
    # never re-showing, the re-bought and re-visited targets are out of reach (and not counted)
    assert reshown.metrics["HR@10"] > 1.1 * never.metrics["HR@10"]


def test_where_nothing_is_touched_twice_auto_excludes_seen_items(quick):
    dataset = Dataset("fresh", raw(fresh_shop()), default_protocol="holdout")
    task = holdout(dataset)
    scorer = auto.AutoScorer()
    from recommendations.offline.prepare import encode

    enc = encode(task.train, {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0})
    scorer.fit(enc.train)
    assert scorer.reshow == {}
    case = next(c for c in task.cases if c.user)
    query = enc.query(case.items, case.timestamps, case.kinds, case.user)
    assert scorer.excludes_seen(query)


def test_recommend_users_re_shows_due_consumables_and_never_a_durable(quick):
    log = repeat_shop()
    rows = recommend_users(raw(log), [f"u{u}" for u in range(40)], 10)
    purchases = log.kinds == log.kind_names.index("purchase")
    bought: dict[str, set[str]] = {}
    for u, i in zip(log.users[purchases].tolist(), log.items[purchases].tolist(), strict=True):
        bought.setdefault(f"u{u}", set()).add(f"i{i}")
    shown_again = [(user, item) for user, _, item, _ in rows if item in bought.get(user, set())]
    assert shown_again, "consumables bought on a cycle are shown again"
    assert sum(int(item[1:]) < 30 for _, item in shown_again) > 0.9 * len(shown_again), shown_again
    # durables (items 30+) are bought once: where the shop's orders say so, never re-shown
    durable = purchases_model(log).durable()
    assert durable[30:][np.unique(log.items[purchases & (log.items >= 30)]) - 30].mean() >= 0.75
    assert not any(durable[int(item[1:])] for _, item in shown_again), shown_again
    for user in {user for user, *_ in rows}:
        items = [item for u, _, item, _ in rows if u == user]
        assert len(items) == len(set(items)) <= 10
    assert np.isfinite([score for *_, score in rows]).all()
