import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine import metrics, validation
from recommendations.engine.base import EventLog, top_k
from recommendations.engine.ease import EASE, l2_grid
from recommendations.engine.interactions import build_matrix
from recommendations.engine.item_splits import session_item_splits


def shop(seed=0, n_users=300, n_items=60, groups=4, per_user=12, session_len=4):
    """Users of ``groups`` tastes; each event one click at an increasing time; sessions of
    ``session_len`` consecutive clicks; some sessions anonymous (user -1)."""
    rng = np.random.default_rng(seed)
    users, items, stamps, sessions = [], [], [], []
    item_group = np.arange(n_items) % groups
    t = 0.0
    for u in range(n_users):
        liked = np.flatnonzero(item_group == u % groups)
        for n, item in enumerate(rng.choice(liked, size=per_user, replace=False)):
            users.append(u if u % 5 else -1)
            items.append(int(item))
            t += rng.random()
            stamps.append(t)
            sessions.append(u * 100 + n // session_len)
    return EventLog(
        users=np.asarray(users, np.int64),
        items=np.asarray(items, np.int64),
        kinds=np.zeros(len(items), np.int16),
        timestamps=np.asarray(stamps),
        sessions=np.asarray(sessions, np.int64),
        kind_names=("view",),
        n_users=n_users,
        n_items=n_items,
    )


def noisy_shop(seed, n_users=400, n_items=80, groups=4, per_user=8, noise=6):
    """Taste groups as in :func:`shop`, plus ``noise`` clicks per user drawn from a Zipf
    popularity over the whole catalogue (what a regularisation has to see through)."""
    rng = np.random.default_rng(seed)
    zipf = 1 / np.arange(1, n_items + 1) ** 1.2
    zipf /= zipf.sum()
    item_group = np.arange(n_items) % groups
    items = []
    for u in range(n_users):
        liked = np.flatnonzero(item_group == u % groups)
        items += [*rng.choice(liked, size=per_user, replace=False), *rng.choice(n_items, size=noise, p=zipf)]
    users = np.repeat(np.arange(n_users), per_user + noise)
    return EventLog(
        users=users,
        items=np.asarray(items, np.int64),
        kinds=np.zeros(len(items), np.int16),
        timestamps=np.arange(len(items), dtype=float),
        sessions=users.copy(),
        kind_names=("view",),
        n_users=n_users,
        n_items=n_items,
    )


def build(log):
    return build_matrix(log, {"view": 1.0})


def test_recent_split_holds_out_each_users_newest_new_items():
    log = shop()
    split = validation.recent_split(log, max_queries=50, seed=1)
    q = split.queries
    assert len(q) == 50 and q.exclude_seen and split.context == "user"
    train = split.train
    for user, seq, targets in zip(q.users, q.sequences, q.targets, strict=True):
        mine = log.timestamps[log.users == user]
        kept = train.timestamps[train.users == user]
        assert kept.max() < mine.max()  # the newest event left training
        assert not np.isin(targets, seq).any()  # only items new to the user are targets
        assert set(train.items[train.users == user]) == set(seq.tolist())
    assert len(train.items) == len(log.items) - 50  # one newest click each


def test_random_split_holds_out_a_fifth_of_each_sampled_users_items():
    log = shop(per_user=10)
    split = validation.random_split(log, fraction=0.2, max_queries=40, seed=3)
    assert len(split.queries) == 40
    for user, targets in zip(split.queries.users, split.queries.targets, strict=True):
        assert len(targets) == 2
        assert not np.isin(targets, split.train.items[split.train.users == user]).any()
    other = validation.random_split(log, fraction=0.2, max_queries=40, seed=4)
    assert [t.tolist() for t in other.queries.targets] != [t.tolist() for t in split.queries.targets]


def test_session_split_predicts_the_next_click_of_the_newest_sessions():
    log = shop()
    split = validation.session_split(log, newest_share=0.3, max_queries=30, seed=0)
    q = split.queries
    assert split.context == "session" and not q.exclude_seen and (q.users == -1).all()
    assert 0 < len(q) <= 30
    cut = log.timestamps.max() - 0.3 * (log.timestamps.max() - log.timestamps.min())
    held = set(log.sessions.tolist()) - set(split.train.sessions.tolist())
    assert held and all(log.timestamps[log.sessions == s].min() >= cut for s in held)
    assert len(held) == len(q)  # only the sessions queried leave the training log
    for seq, times, target in zip(q.sequences, q.times, q.targets, strict=True):
        rows = np.flatnonzero(np.isin(log.timestamps, times))
        session = log.sessions[rows[0]]
        whole = log.items[log.sessions == session]
        assert whole[: len(seq)].tolist() == seq.tolist() and whole[len(seq)] == target[0]


def test_ranked_and_ndcg_agree_with_the_offline_metrics():
    rng = np.random.default_rng(5)
    scores = rng.integers(-2, 5, size=(40, 30)).astype(float)  # many ties and non-positive scores
    exclude = sp.csr_matrix(rng.random((40, 30)) < 0.1)
    targets = [rng.choice(30, size=rng.integers(1, 4), replace=False) for _ in range(40)]
    top = validation.ranked(scores, 10, exclude)
    got = validation.ndcg(top, targets, 10)
    for i in range(40):
        s = np.where(scores[i] > 0, scores[i], -np.inf)
        expected = top_k(s, 10, exclude[i].indices)
        assert top[i][top[i] >= 0].tolist() == expected.tolist()
        assert got[i] == pytest.approx(metrics.ndcg(expected, targets[i], 10))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_choose_picks_the_l2_that_validates_best(seed):
    log = noisy_shop(seed)
    split = validation.random_split(log, max_queries=300, seed=0)
    matrix = build(split.train)
    grid = [{"l2": 1e7}, *({"l2": v} for v in l2_grid(matrix))]
    best, table = validation.choose(EASE, grid, split, build, k=10)
    scores = {p["l2"]: s for p, s in table}
    assert best["l2"] != 1e7 and scores[best["l2"]] == max(scores.values())
    assert scores[best["l2"]] > scores[1e7] + 0.02  # plain co-occurrence (huge l2) loses


def test_l2_grid_follows_the_data_scale():
    small = sp.csr_matrix(np.eye(10, dtype=np.float32))
    big = sp.csr_matrix(np.ones((100, 10), dtype=np.float32) * 3)
    assert l2_grid(small)[3] == pytest.approx(1.0)
    assert l2_grid(big)[3] == pytest.approx(900.0)


def test_coview_and_basket_splits_hold_out_only_the_sessions_they_query():
    # session s: views s, s+1, s+2 then carts s+1, s+2 (kinds: 0 view, 1 add_to_cart)
    users, items, kinds, sessions = [], [], [], []
    for s in range(100):
        for item, kind in ((s, 0), (s + 1, 0), (s + 2, 0), (s + 1, 1), (s + 2, 1)):
            users.append(s)
            items.append(item % 50)
            kinds.append(kind)
            sessions.append(s)
    log = EventLog(
        users=np.asarray(users, np.int64),
        items=np.asarray(items, np.int64),
        kinds=np.asarray(kinds, np.int16),
        timestamps=np.arange(len(users), dtype=float),
        sessions=np.asarray(sessions, np.int64),
        kind_names=("view", "add_to_cart"),
        n_users=100,
        n_items=50,
    )
    coview, basket = session_item_splits(log, max_queries=10, skip_users={99})
    assert coview.train is basket.train
    assert len(coview.queries) == 10 and len(basket.queries) == 10
    # each held-out session yields both a co-view and a basket query: 10 sessions leave, no more
    held = set(log.sessions.tolist()) - set(coview.train.sessions.tolist())
    assert len(held) == 10 and 99 not in held
    assert len(coview.train.items) == len(log.items) - 10 * 5
    for seq, target in zip(coview.queries.sequences, coview.queries.targets, strict=True):
        assert len(seq) == 1 and seq[0] not in target and len(target) == 2  # the session's others
    for seq, target in zip(basket.queries.sequences, basket.queries.targets, strict=True):
        assert len(seq) == 1 and len(target) == 1 and (target[0] - seq[0]) % 50 == 1  # the last added
    seen = validation.seen_matrix(coview)
    assert seen is not None and seen.nnz == 10  # the page's own product is never ranked
