"""Variable-length strings as two plain arrays: UTF-8 bytes and int64 byte offsets (Arrow's layout).

A column of ``n`` strings is ``<name>_utf8`` (uint8, every string's bytes one after the other) and
``<name>_offsets`` (int64, ``n + 1``: string ``i`` is ``utf8[offsets[i]:offsets[i + 1]]``). Unlike a
fixed-width ``<U`` array (4 bytes a character, every row as wide as the longest) it costs what the
text costs, and unlike an object array it needs no pickle. :func:`column` also reads a ``<U``
array stored under ``<name>`` itself, as model versions stored before this layout hold them.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from itertools import pairwise

import numpy as np

DATA, OFFSETS = "_utf8", "_offsets"


class StringColumn:
    """Collects strings one by one into the two arrays (no list of Python strings kept)."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("q")

    def append(self, value: str) -> None:
        self._data += value.encode()
        self._ends.append(len(self._data))

    def __len__(self) -> int:
        return len(self._ends)

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        offsets = np.zeros(len(self._ends) + 1, dtype=np.int64)
        offsets[1:] = np.frombuffer(self._ends, dtype=np.int64) if len(self._ends) else []
        data = np.frombuffer(bytes(self._data), dtype=np.uint8)
        return {name + DATA: data, name + OFFSETS: offsets}


def encode(name: str, values: Iterable[str]) -> dict[str, np.ndarray]:
    """``values`` as the two arrays of column ``name``."""
    out = StringColumn()
    for value in values:
        out.append(value)
    return out.arrays(name)


def decode(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = np.asarray(data, dtype=np.uint8).tobytes()
    bounds = np.asarray(offsets, dtype=np.int64).tolist()
    return [raw[a:b].decode() for a, b in pairwise(bounds)]


def column(arrays: Mapping[str, np.ndarray], name: str) -> list[str]:
    """Column ``name`` of ``arrays`` as Python strings, in either layout."""
    if name + OFFSETS in arrays:
        return decode(arrays[name + DATA], arrays[name + OFFSETS])
    return np.asarray(arrays[name]).tolist()


def length(arrays: Mapping[str, np.ndarray], name: str) -> int:
    """How many strings column ``name`` holds, without decoding them."""
    if name + OFFSETS in arrays:
        return len(arrays[name + OFFSETS]) - 1
    return len(arrays[name])
