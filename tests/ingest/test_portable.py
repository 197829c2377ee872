"""The portable insert path (databases without ON CONFLICT ... RETURNING) stores the same rows."""

import uuid

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from recommendations.ingest import database
from recommendations.models import Event
from recommendations.schema import EventRow

pytestmark = pytest.mark.django_db


def _row(item, **extra):
    return EventRow(event_id=uuid.uuid4(), kind="view", created_at=timezone.now(), source="api",
                    visitor_id=uuid.uuid4(), product_id=str(item.pk), **extra)  # fmt: skip


@pytest.mark.parametrize("insert", [database._insert_new, database._insert_new_portable])
def test_both_paths_insert_new_rows_once_and_report_them(item, insert):
    rows = [_row(item), _row(item, query="q", context={"a": 1})]
    assert insert(rows, 100, DEFAULT_DB_ALIAS) == {r.event_id for r in rows}
    again = [*rows, _row(item)]
    assert insert(again, 100, DEFAULT_DB_ALIAS) == {again[2].event_id}
    assert Event.objects.count() == 3
    stored = Event.objects.get(event_id=rows[1].event_id)
    assert (stored.product_id, stored.query, stored.context) == (item.pk, "q", {"a": 1})
