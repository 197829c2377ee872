"""Encode raw string-id events into the engine's integer world, and contexts into queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommendations.engine.interactions import IdIndex, build_matrix, encode_log
from recommendations.engine.session import Sessions

from .algorithms import Query, TrainData
from .events import RawEvents


def actor_ids(users: np.ndarray, sessions: np.ndarray) -> np.ndarray:
    """``u:<user>`` where a user is known, else ``s:<session>``: the rows of the matrix."""
    return np.array(
        [f"u:{u}" if u else f"s:{s}" for u, s in zip(users.tolist(), sessions.tolist(), strict=True)],
        dtype=object,
    )


@dataclass(frozen=True)
class Encoded:
    train: TrainData
    items: IdIndex
    actors: IdIndex
    seen: sp.csr_matrix  # actors x items, 1 where the actor has any training event

    def user_row(self, user: str, session: str = "") -> int:
        """The actor row of a known user, else of a known session (``-1``: a new visitor)."""
        if user:
            return self.actors.get(f"u:{user}", -1)
        return self.actors.get(f"s:{session}", -1) if session else -1

    def query(
        self,
        items: Sequence[str],
        timestamps: Sequence[float],
        kinds: Sequence[str],
        user: str = "",
        session: str = "",
        at: float | None = None,
    ) -> Query:
        idx = self.items.lookup(list(items))
        keep = idx >= 0
        weights = np.array([self.train.weights.get(k, 0.0) for k in kinds], dtype=np.float64)
        return Query(
            items=idx[keep],
            timestamps=np.asarray(timestamps, dtype=np.float64)[keep],
            weights=weights[keep],
            row=self.user_row(user, session),
            at=at,
        )

    def seen_items(self, row: int) -> np.ndarray:
        if row < 0:
            return np.empty(0, dtype=np.int64)
        return self.seen.indices[self.seen.indptr[row] : self.seen.indptr[row + 1]].astype(np.int64)


def encode(events: RawEvents, weights: Mapping[str, float]) -> Encoded:
    """Fit-ready training data from raw events (unknown kinds must have been rejected already)."""
    sessions = np.array(
        [s if s else f"u:{u}" for u, s in zip(events.users.tolist(), events.sessions.tolist(), strict=True)],
        dtype=object,
    )
    log, actor_index, item_index = encode_log(
        actor_ids(events.users, events.sessions), events.items, events.kinds, events.timestamps, sessions
    )
    matrix = build_matrix(log, weights)
    seen = sp.csr_matrix((np.ones(len(log.items)), (log.users, log.items)), shape=(log.n_users, log.n_items))
    seen.sum_duplicates()
    seen.sort_indices()
    popularity = np.diff(seen.tocsc().indptr).astype(np.float64)
    train = TrainData(log, matrix, Sessions.from_log(log), dict(weights), popularity)
    return Encoded(train, item_index, actor_index, seen)
