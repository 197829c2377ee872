"""A version's report (the self-evaluation's ModelQuality rows) is written in the transaction that
makes the version live: a worker that sees the version ready sees its report (a test on a real
Celery worker read the version between the two and found no rows), and a failing report never
undoes the swap."""

from __future__ import annotations

import pytest
from django.db import connection

from recommendations import modelstore as storage
from recommendations.models import ActiveModel, ModelVersion

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_report_is_written_before_the_version_is_visible_as_ready():
    version = storage.create_version()
    seen: list[tuple[str, bool]] = []

    def report(live: ModelVersion) -> None:
        # inside the activation: the row is ready in this transaction, nobody else sees it yet
        assert connection.in_atomic_block
        seen.append((live.status, ActiveModel.objects.filter(version=live).exists()))

    assert storage.activate(version.pk, report=report, metrics={"m": 1})
    assert seen == [(ModelVersion.Status.READY, True)]
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.READY and version.metrics == {"m": 1}


def test_a_failing_report_never_undoes_the_swap(caplog):
    version = storage.create_version()

    def report(live: ModelVersion) -> None:
        ModelVersion.objects.filter(pk=live.pk).update(error="written by the report")
        raise RuntimeError("report broke")

    assert storage.activate(version.pk, report=report)
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.READY
    assert version.error == ""  # the report's own savepoint was rolled back, the swap was not
    assert ActiveModel.objects.get(kind=version.kind).version_id == version.pk
    assert "could not record the report" in caplog.text
