"""Adapters from the public evaluation datasets (``../shared/data`` layout) to :class:`RawEvents`.

Each loader returns a :class:`Dataset`: the full event table plus, where the source ships a
fixed split (yoochoose), the train and test parts. Nothing is downloaded; paths are local.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .events import DEFAULT_EVENT_WEIGHTS, RawEvents, read_events_csv

DATASETS = ("yoochoose", "diginetica", "amazon-beauty", "otto")
OTTO_KINDS = {"clicks": "view", "carts": "add_to_cart", "orders": "purchase"}


@dataclass(frozen=True)
class Dataset:
    name: str
    events: RawEvents
    train: RawEvents | None = None  # a fixed split shipped with the data
    test: RawEvents | None = None
    validation: tuple[RawEvents, RawEvents] | None = None  # (train part, validation part)
    default_protocol: str = "next-item"


def _read_yoochoose(path: Path) -> RawEvents:
    table = np.loadtxt(path, skiprows=1, dtype=str, delimiter="\t", ndmin=2)
    return RawEvents.from_columns(
        items=table[:, 1], kinds="view", timestamps=table[:, 2].astype(np.float64), sessions=table[:, 0]
    )


def load_yoochoose(data_dir: Path) -> Dataset:
    """session-rec's ``yoochoose-clicks-100k``: clicks, last day = test, last train day = validation."""
    folder = data_dir / "yoochoose-clicks-100k"
    part = {name: _read_yoochoose(folder / f"yoochoose-clicks-100k_{name}.txt") for name in (
        "train_full", "test", "train_tr", "train_valid")}  # fmt: skip
    return Dataset(
        "yoochoose",
        RawEvents.concat([part["train_full"], part["test"]]),
        train=part["train_full"],
        test=part["test"],
        validation=(part["train_tr"], part["train_valid"]),
    )


def load_diginetica(data_dir: Path) -> Dataset:
    """CIKM Cup 2016 view sample: time = event date + in-session ``timeframe`` (ms)."""
    path = data_dir / "diginetica-sample" / "sample_train-item-views.csv"
    users, sessions, items, stamps = [], [], [], []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            day = dt.datetime.strptime(row["eventdate"], "%Y-%m-%d").replace(tzinfo=dt.UTC)
            stamps.append(day.timestamp() + float(row["timeframe"]) / 1000.0)
            users.append("" if row["user_id"] == "NA" else row["user_id"])
            sessions.append(row["session_id"])
            items.append(row["item_id"])
    events = RawEvents.from_columns(items, "view", stamps, users=users, sessions=sessions)
    return Dataset("diginetica", events, default_protocol="temporal")


def load_amazon_beauty(data_dir: Path) -> Dataset:
    """Per-user purchase sequences without timestamps: the position becomes the time (seconds)."""
    path = data_dir / "amazon-beauty" / "Beauty.txt"
    users, items, stamps = [], [], []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        users.extend([parts[0]] * (len(parts) - 1))
        items.extend(parts[1:])
        stamps.extend(range(len(parts) - 1))
    events = RawEvents.from_columns(items, "purchase", stamps, users=users)
    return Dataset("amazon-beauty", events, default_protocol="leave-last-out")


def load_otto(data_dir: Path) -> Dataset:
    """OTTO jsonl: ``clicks/carts/orders`` become ``view/add_to_cart/purchase``; ms -> seconds."""
    path = data_dir / "otto-fixture" / "train.jsonl"
    sessions, items, kinds, stamps = [], [], [], []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        for event in record["events"]:
            sessions.append(record["session"])
            items.append(event["aid"])
            kinds.append(OTTO_KINDS[event["type"]])
            stamps.append(event["ts"] / 1000.0)
    events = RawEvents.from_columns(items, kinds, stamps, sessions=sessions)
    return Dataset("otto", events, default_protocol="next-item")


def load_csv(path: str | Path, weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS) -> Dataset:
    """The command's contract CSV (see :func:`~recommendations.offline.events.read_events_csv`)."""
    return Dataset(Path(path).stem, read_events_csv(path, weights), default_protocol="temporal")


LOADERS = {
    "yoochoose": load_yoochoose,
    "diginetica": load_diginetica,
    "amazon-beauty": load_amazon_beauty,
    "otto": load_otto,
}


def load_dataset(name: str, data_dir: str | Path) -> Dataset:
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    return LOADERS[name](Path(data_dir))
