"""Turn an event log into the users x items confidence matrix every model trains on.

The matrix cell for (user, item) is built in four steps:

1. each event gets ``weights[kind]`` (unknown kinds weigh 0, negative weights are allowed) and a
   time decay ``0.5 ** (age / half_life)`` relative to ``now``;
2. events with the same (user, item, kind) are de-duplicated: their decayed count ``d`` saturates
   as ``d`` for ``d <= 1`` and ``1 + ln(d)`` above (continuous, slope 1 at 1), so one decayed event
   keeps its exact weight while a hundred page reloads count like ~5.6 views, not 100;
3. the kinds are summed per cell and the result clipped at 0 (a removal can cancel an add, not go
   below nothing);
4. rows of extreme users (bots, crawlers, staff) are damped: a user with ``n`` events above
   ``max_events_per_user`` has the whole row scaled by ``sqrt(cap / n)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .base import EventLog

SECONDS_PER_DAY = 86_400.0


def saturate(counts: np.ndarray) -> np.ndarray:
    """``d`` below 1, ``1 + ln(d)`` above: repeated identical events grow logarithmically."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.where(counts <= 1.0, counts, 1.0 + np.log(np.maximum(counts, 1.0)))


def decay_factors(timestamps: np.ndarray, half_life_seconds: float | None, now: float) -> np.ndarray:
    """``0.5 ** (age / half_life)``; events in the future count as age 0; no half-life gives 1."""
    if half_life_seconds is None:
        return np.ones(len(timestamps), dtype=np.float64)
    if half_life_seconds <= 0:
        raise ValueError("half-life must be positive")
    age = np.maximum(now - np.asarray(timestamps, dtype=np.float64), 0.0)
    return np.exp2(-age / half_life_seconds)


def kind_weights(kind_names: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """Weight per kind index; kinds missing from ``weights`` weigh 0."""
    return np.array([float(weights.get(name, 0.0)) for name in kind_names], dtype=np.float64)


def build_matrix(
    log: EventLog,
    weights: Mapping[str, float],
    *,
    half_life_days: float | None = None,
    now: float | None = None,
    max_events_per_user: int | None = None,
    dedupe: bool = True,
) -> sp.csr_matrix:
    """Users x items confidence matrix (CSR, float32, sorted indices, no explicit zeros).

    Anonymous rows (``users == -1``) are ignored. ``now`` defaults to the newest timestamp. With
    ``dedupe=False`` identical events simply add up (still decayed and weighted).
    """
    shape = (log.n_users, log.n_items)
    keep = log.users >= 0
    users = np.asarray(log.users[keep], dtype=np.int64)
    items = np.asarray(log.items[keep], dtype=np.int64)
    kinds = np.asarray(log.kinds[keep], dtype=np.int64)
    stamps = np.asarray(log.timestamps[keep], dtype=np.float64)
    if users.size == 0:
        return sp.csr_matrix(shape, dtype=np.float32)
    if now is None:
        now = float(stamps.max())
    half_life = None if half_life_days is None else half_life_days * SECONDS_PER_DAY
    decayed = decay_factors(stamps, half_life, now)
    kw = kind_weights(log.kind_names, weights)

    if dedupe:
        n_kinds = max(len(log.kind_names), 1)
        cell = users * log.n_items + items
        key = cell * n_kinds + kinds
        uniq, inverse = np.unique(key, return_inverse=True)
        counts = np.bincount(inverse, weights=decayed, minlength=len(uniq))
        values = saturate(counts) * kw[uniq % n_kinds]
        cell_of = uniq // n_kinds
        rows, cols = cell_of // log.n_items, cell_of % log.n_items
    else:
        values = decayed * kw[kinds]
        rows, cols = users, items

    matrix = sp.csr_matrix((values, (rows, cols)), shape=shape, dtype=np.float64)
    matrix.sum_duplicates()
    np.maximum(matrix.data, 0.0, out=matrix.data)

    if max_events_per_user is not None:
        activity = np.bincount(users, minlength=log.n_users).astype(np.float64)
        scale = np.ones(log.n_users, dtype=np.float64)
        heavy = activity > max_events_per_user
        scale[heavy] = np.sqrt(max_events_per_user / activity[heavy])
        matrix.data *= np.repeat(scale, np.diff(matrix.indptr))

    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix.astype(np.float32)


class IdIndex(Mapping[str, int]):
    """A frozen mapping from external ids (strings) to dense indices 0..n-1, and back via ``ids``."""

    def __init__(self, ids: Sequence[Any] | np.ndarray) -> None:
        self.ids = np.asarray(ids, dtype=object)
        self._index = {key: i for i, key in enumerate(self.ids.tolist())}
        if len(self._index) != len(self.ids):
            raise ValueError("ids must be unique")

    def __getitem__(self, key: str) -> int:
        return self._index[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def lookup(self, keys: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Indices for many ids at once (int64); unknown ids map to -1."""
        get = self._index.get
        return np.fromiter((get(k, -1) for k in keys), dtype=np.int64, count=len(keys))


def _is_missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def _encode(values: Sequence[Any] | np.ndarray, allow_missing: bool) -> tuple[np.ndarray, IdIndex]:
    keys = [None if _is_missing(v) else str(v) for v in values]
    present = [k for k in keys if k is not None]
    if not allow_missing and len(present) != len(keys):
        raise ValueError("item ids and kinds must not be empty")
    uniq = sorted(set(present))
    index = IdIndex(uniq)
    codes = np.fromiter((-1 if k is None else index[k] for k in keys), dtype=np.int64, count=len(keys))
    return codes, index


def _as_seconds(timestamps: Sequence[Any] | np.ndarray) -> np.ndarray:
    arr = np.asarray(timestamps)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[us]").astype(np.int64).astype(np.float64) / 1e6
    return arr.astype(np.float64)


def encode_log(
    user_ids: Sequence[Any] | np.ndarray,
    item_ids: Sequence[Any] | np.ndarray,
    kinds: Sequence[str] | np.ndarray,
    timestamps: Sequence[Any] | np.ndarray,
    session_ids: Sequence[Any] | np.ndarray | None = None,
) -> tuple[EventLog, IdIndex, IdIndex]:
    """Map arbitrary ids to dense indices and return ``(log, user_index, item_index)``.

    Ids are compared as strings and numbered in sorted order, so the encoding is deterministic.
    Empty / ``None`` user ids become -1 (anonymous), as do missing session ids. Kinds are numbered
    in sorted order too (``log.kind_names``). Timestamps may be unix seconds or ``datetime64``.
    """
    n = len(item_ids)
    if not (len(user_ids) == len(kinds) == len(timestamps) == n):
        raise ValueError("all columns must have the same length")
    users, user_index = _encode(user_ids, allow_missing=True)
    items, item_index = _encode(item_ids, allow_missing=False)
    kind_codes, kind_index = _encode(kinds, allow_missing=False)
    if session_ids is None:
        sessions = np.full(n, -1, dtype=np.int64)
    else:
        if len(session_ids) != n:
            raise ValueError("all columns must have the same length")
        sessions, _ = _encode(session_ids, allow_missing=True)
    log = EventLog(
        users=users,
        items=items,
        kinds=kind_codes.astype(np.int16),
        timestamps=_as_seconds(timestamps),
        sessions=sessions,
        kind_names=tuple(kind_index.ids.tolist()),
        n_users=len(user_index),
        n_items=len(item_index),
    )
    return log, user_index, item_index
