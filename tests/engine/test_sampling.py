"""A seeded sample of a log's shoppers (engine.sampling): whole histories, bounded, reproducible."""

from __future__ import annotations

import numpy as np

from recommendations.engine.base import EventLog
from recommendations.engine.sampling import sample_users


def make_log(seed: int = 0, n: int = 5_000) -> EventLog:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 300, n)
    users[rng.random(n) < 0.1] = -1  # anonymous rows, grouped by their session
    sessions = rng.integers(0, 900, n)
    sessions[(users < 0) & (rng.random(n) < 0.2)] = -1  # ... or on their own
    return EventLog(
        users=users.astype(np.int64),
        items=rng.integers(0, 50, n).astype(np.int64),
        kinds=rng.integers(0, 3, n).astype(np.int16),
        timestamps=np.sort(rng.uniform(0, 1e6, n)),
        sessions=sessions.astype(np.int64),
        kind_names=("a", "b", "c"),
        n_users=300,
        n_items=50,
    )


def rows(log: EventLog) -> set[tuple]:
    return set(zip(log.items.tolist(), log.kinds.tolist(), log.timestamps.tolist(), strict=True))


def test_a_log_within_the_cap_is_returned_as_it_is():
    log = make_log()
    assert sample_users(log, len(log.items)) is log


def test_the_sample_keeps_whole_histories_within_the_cap_and_is_seeded():
    log = make_log()
    sample = sample_users(log, 1_000, seed=3)
    assert 800 < len(sample.items) <= 1_000  # the next shopper would have crossed the cap
    assert sample_users(log, 1_000, seed=3).timestamps.tolist() == sample.timestamps.tolist()
    assert sample_users(log, 1_000, seed=4).timestamps.tolist() != sample.timestamps.tolist()
    assert rows(sample) <= rows(log)
    # users renumbered densely, in their original order, each with every one of their events
    known = sample.users[sample.users >= 0]
    assert sample.n_users == len(np.unique(known)) and known.max() == sample.n_users - 1
    stamp_user = dict(zip(log.timestamps.tolist(), log.users.tolist(), strict=True))
    originals = sorted(
        {stamp_user[t] for t, u in zip(sample.timestamps, sample.users, strict=True) if u >= 0}
    )
    for new, old in enumerate(originals):
        mine = sample.timestamps[sample.users == new]
        np.testing.assert_array_equal(mine, log.timestamps[log.users == old])
    # anonymous sessions are kept whole too
    for session in np.unique(sample.sessions[(sample.users < 0) & (sample.sessions >= 0)]):
        whole = (log.users < 0) & (log.sessions == session)
        assert ((sample.users < 0) & (sample.sessions == session)).sum() == whole.sum()


def test_a_cap_below_the_first_shopper_keeps_that_shopper():
    log = make_log()
    sample = sample_users(log, 1)
    assert len(sample.items) >= 1 and sample.n_users <= 1
