"""The active model version, loaded once per process and replaced when the pointer moves."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from recommendations import modelstore as storage
from recommendations.engine import strings
from recommendations.engine.repeat import RepeatModel
from recommendations.engine.session import SequenceBlend, Sessions, Transitions, stan
from recommendations.engine.similarity import csr_from
from recommendations.serving import chosen as chosen_blends

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rows:
    """A per-user event table: row ``r``'s events are ``items[indptr[r]:indptr[r + 1]]``."""

    indptr: np.ndarray
    items: np.ndarray
    stamps: np.ndarray
    kinds: np.ndarray | None = None  # codes into ``Shoppers.browse_kinds``

    def row(self, r: int) -> slice:
        return (
            slice(int(self.indptr[r]), int(self.indptr[r + 1])) if r + 1 < len(self.indptr) else slice(0, 0)
        )


@dataclass(frozen=True)
class ComebackCounts:
    """Per user row, at most one entry: their visits that came back to an item, and their chances
    (visits after the first), as the rebuild counted them (:func:`recommendations.engine.comebacks.comeback_counts`)."""

    indptr: np.ndarray
    returns: np.ndarray
    chances: np.ndarray

    def of(self, r: int) -> tuple[int, int]:
        """Row ``r``'s counts; (0, 0) for a row without them (erased, or not trained)."""
        if not 0 <= r < len(self.indptr) - 1 or self.indptr[r] == self.indptr[r + 1]:
            return 0, 0
        at = int(self.indptr[r])
        return int(self.returns[at]), int(self.chances[at])


@dataclass(frozen=True)
class Shoppers:
    bought: Rows
    browsed: Rows
    browse_kinds: tuple[str, ...]
    comebacks: ComebackCounts | None = None  # None: a version built before re-showing was personal


def _shoppers(users: dict[str, np.ndarray]) -> Shoppers | None:
    if "bought_indptr" not in users:  # a version built before buy-again existed
        return None
    bought = Rows(users["bought_indptr"], users["bought_indices"].astype(np.int64), users["bought_data"])
    browsed = Rows(
        users["browsed_indptr"],
        users["browsed_indices"].astype(np.int64),
        users["browsed_data"],
        users["browsed_kinds"],
    )
    comebacks = (
        ComebackCounts(users["comebacks_indptr"], users["comebacks_returns"], users["comebacks_chances"])
        if "comebacks_indptr" in users
        else None
    )
    return Shoppers(bought, browsed, tuple(users["browse_kind_names"].tolist()), comebacks)


@dataclass
class Bundle:
    version: int
    ids: list[str]
    index: dict[str, int]
    titles: list[str]
    category: np.ndarray  # leaf category code per item, -1 none
    category_ids: list[str]
    category_labels: list[str]
    category_code: dict[str, int]
    descendants: dict[int, np.ndarray]  # category code -> leaf codes under it (itself included)
    price: np.ndarray
    unavailable: np.ndarray  # item indices out of stock / inactive at build time
    new_items: np.ndarray  # items nobody interacted with yet
    user_row: dict[str, int]
    history: sp.csr_matrix
    purchased: sp.csr_matrix
    neighbours: dict[str, sp.csr_matrix]  # itemknn, ease, content, bought_together
    trending: np.ndarray
    trending_by_category: dict[int, np.ndarray]
    als: tuple[np.ndarray, np.ndarray, float] | None
    session: SequenceBlend | None
    tokens: dict[str, np.ndarray] = field(default_factory=dict)
    chosen: chosen_blends.Chosen | None = None  # the self-evaluation's blends (None: recipes)
    repeat: RepeatModel | None = None  # repeat purchases: per item rate and interval
    shoppers: Shoppers | None = None  # per user row: their purchases and browsing, with times

    @property
    def n_items(self) -> int:
        return len(self.ids)


def _descendants(parents: np.ndarray) -> dict[int, np.ndarray]:
    out: dict[int, list[int]] = {c: [c] for c in range(len(parents))}
    for code in range(len(parents)):
        parent, seen = int(parents[code]), 0
        while parent >= 0 and seen < 16:
            out[parent].append(code)
            parent, seen = int(parents[parent]), seen + 1
    return {c: np.asarray(v, dtype=np.int64) for c, v in out.items()}


def _session_model(arrays: dict[str, np.ndarray], n_items: int) -> SequenceBlend | None:
    if arrays["items"].size == 0:
        return None
    sessions = Sessions(arrays["indptr"], arrays["items"], arrays["timestamps"], n_items)
    model = SequenceBlend([(stan(), 1.0), (Transitions(steps=10), 0.1)])
    return model.fit(sessions)


def _tokens(titles: list[str]) -> dict[str, np.ndarray]:
    from recommendations.engine.content import tokenize

    postings: dict[str, list[int]] = {}
    for i, title in enumerate(titles):
        for token in set(tokenize(title)):
            postings.setdefault(token, []).append(i)
    return {t: np.asarray(v, dtype=np.int64) for t, v in postings.items()}


def load(version_id: int) -> Bundle:
    using = storage.serving_database(version_id)
    parts = storage.load_parts(version_id, using=using)
    cat = parts["catalogue"]
    ids = strings.column(cat, "ids")
    n = len(ids)
    users = parts["users"]
    trend = parts["trending"]
    neighbours = {
        name: csr_from(parts[name])
        for name in ("itemknn", "ease", "content", "bought_together")
        if name in parts
    }
    als = None
    if "als" in parts:
        als = (parts["als"]["item_factors"], parts["als"]["gram"], float(parts["als"]["alpha"]))
    codes, indptr = trend["cat_codes"], trend["cat_indptr"]
    titles = strings.column(cat, "titles")
    category_ids = strings.column(cat, "category_ids")
    return Bundle(
        version=version_id,
        ids=ids,
        index={pid: i for i, pid in enumerate(ids)},
        titles=titles,
        category=cat["category"],
        category_ids=category_ids,
        category_labels=strings.column(cat, "category_labels"),
        category_code={c: i for i, c in enumerate(category_ids)},
        descendants=_descendants(cat["category_parent"]),
        price=cat["price"],
        unavailable=np.flatnonzero(~cat["available"]),
        new_items=np.flatnonzero(cat["interactions"] == 0),
        user_row={key: i for i, key in enumerate(users["keys"].tolist())},
        history=csr_from(
            {k.removeprefix("history_"): v for k, v in users.items() if k.startswith("history_")}
        ),
        purchased=csr_from(
            {k.removeprefix("purchased_"): v for k, v in users.items() if k.startswith("purchased_")}
        ),
        neighbours=neighbours,
        trending=trend["scores"].astype(np.float64),
        trending_by_category={
            int(c): trend["cat_items"][indptr[i] : indptr[i + 1]] for i, c in enumerate(codes)
        },
        als=als,
        session=_session_model(parts["session"], n),
        tokens=_tokens(titles),
        chosen=chosen_blends.load(version_id, parts, n),
        repeat=RepeatModel.from_arrays(parts["repeat"]) if "repeat" in parts else None,
        shoppers=_shoppers(users),
    )


_lock = threading.Lock()
_current: list[Bundle | None] = [None]


def current() -> Bundle | None:
    """The active bundle (loaded on first use and after a swap), or None before any build."""
    version_id = storage.active_version_id()
    bundle = _current[0]
    if version_id is None:
        return None
    if bundle is not None and bundle.version == version_id:
        return bundle
    with _lock:
        bundle = _current[0]
        if bundle is None or bundle.version != version_id:
            logger.info("loading model version %s", version_id)
            bundle = load(version_id)
            _current[0] = bundle
    return bundle


def clear() -> None:
    with _lock:
        _current[0] = None
    storage.clear_cache()
