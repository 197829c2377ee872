"""Portraits listen to the storage layer: new events schedule a debounced rebuild of their
shoppers' portraits (connected in ``AppConfig.ready``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recommendations import signals
from recommendations.portraits.scheduling import schedule_for_rows


def events_stored(sender: Any, rows: Sequence[Any], **kwargs: Any) -> None:
    schedule_for_rows(rows)


def connect() -> None:
    signals.events_stored.connect(events_stored, dispatch_uid="recommendations.portraits.events_stored")
