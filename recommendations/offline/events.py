"""Raw event tables (opaque string ids) and the contract CSV reader.

The contract file has a header row with ``item_id,event,timestamp`` plus ``user_id`` and/or
``session_id`` (either may be empty on a row); column order is free and extra columns are
ignored. ``event`` must be a known event kind and ``timestamp`` unix seconds.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "search": 0.0,
    "add_to_cart": 3.0,
    "remove_from_cart": -1.0,
    "purchase": 5.0,
    "click": 2.0,
    "impression": 0.0,
}


class EventFileError(ValueError):
    """A problem in an input file; the message names the file and the row."""


@dataclass(frozen=True)
class RawEvents:
    """Columnar events with string ids; empty string means "unknown" for users and sessions."""

    users: np.ndarray  # object (str)
    sessions: np.ndarray  # object (str)
    items: np.ndarray  # object (str)
    kinds: np.ndarray  # object (str)
    timestamps: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.items)

    def take(self, index: np.ndarray) -> RawEvents:
        return RawEvents(
            self.users[index],
            self.sessions[index],
            self.items[index],
            self.kinds[index],
            self.timestamps[index],
        )

    @staticmethod
    def concat(parts: Iterable[RawEvents]) -> RawEvents:
        parts = list(parts)
        return RawEvents(*(np.concatenate([getattr(p, f) for p in parts]) for f in RawEvents._fields()))

    @staticmethod
    def _fields() -> tuple[str, ...]:
        return ("users", "sessions", "items", "kinds", "timestamps")

    @classmethod
    def from_columns(
        cls,
        items: Iterable[object],
        kinds: Iterable[str] | str,
        timestamps: Iterable[float],
        users: Iterable[object] | None = None,
        sessions: Iterable[object] | None = None,
    ) -> RawEvents:
        item_arr = np.array([str(i) for i in items], dtype=object)
        n = len(item_arr)
        if isinstance(kinds, str):
            kind_arr = np.full(n, kinds, dtype=object)
        else:
            kind_arr = np.array(list(kinds), dtype=object)

        def ids(values: Iterable[object] | None) -> np.ndarray:
            if values is None:
                return np.full(n, "", dtype=object)
            return np.array(["" if v is None else str(v) for v in values], dtype=object)

        return cls(
            ids(users), ids(sessions), item_arr, kind_arr, np.asarray(list(timestamps), dtype=np.float64)
        )


def _parse_timestamp(value: str, where: str) -> float:
    try:
        ts = float(value)
    except ValueError:
        raise EventFileError(f"{where}: bad timestamp {value!r} (expected unix seconds)") from None
    if not math.isfinite(ts) or ts < 0:
        raise EventFileError(f"{where}: bad timestamp {value!r} (expected unix seconds)")
    return ts


def read_events_csv(
    path: str | Path,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    required: tuple[str, ...] = ("item_id", "event", "timestamp"),
    id_columns: tuple[str, ...] = ("user_id", "session_id"),
) -> RawEvents:
    """Read a contract CSV; raises :class:`EventFileError` naming the file and (1-based) row.

    Row numbers count the header as row 1, as a spreadsheet shows them. At least one of
    ``id_columns`` must be present, and every row needs a value in one of them.
    """
    path = Path(path)
    users, sessions, items, kinds, stamps = [], [], [], [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        missing = [c for c in required if c not in header]
        if missing:
            raise EventFileError(
                f"{path}: missing column(s) {', '.join(missing)} (header: {','.join(header)})"
            )
        present_ids = [c for c in id_columns if c in header]
        if not present_ids:
            raise EventFileError(f"{path}: needs a {' or '.join(id_columns)} column")
        for row_no, row in enumerate(reader, start=2):
            where = f"{path} row {row_no}"
            item = (row.get("item_id") or "").strip()
            if not item:
                raise EventFileError(f"{where}: empty item_id")
            kind = (row.get("event") or "").strip()
            if kind not in weights:
                raise EventFileError(
                    f"{where}: unknown event kind {kind!r} (known: {', '.join(sorted(weights))})"
                )
            user = (row.get("user_id") or "").strip()
            session = (row.get("session_id") or "").strip()
            if not user and not session:
                raise EventFileError(f"{where}: needs a {' or '.join(present_ids)}")
            stamps.append(_parse_timestamp((row.get("timestamp") or "").strip(), where))
            users.append(user)
            sessions.append(session)
            items.append(item)
            kinds.append(kind)
    return RawEvents(
        np.array(users, dtype=object),
        np.array(sessions, dtype=object),
        np.array(items, dtype=object),
        np.array(kinds, dtype=object),
        np.array(stamps, dtype=np.float64),
    )


def read_lines(path: str | Path) -> list[str]:
    """Non-empty stripped lines (a ``--users`` file); a header line ``user_id`` is skipped."""
    lines = [line.strip() for line in Path(path).read_text(encoding="utf-8-sig").splitlines()]
    lines = [line for line in lines if line]
    if lines and lines[0] == "user_id":
        lines = lines[1:]
    return list(dict.fromkeys(lines))
