"""RECOMMENDATIONS_READ_DATABASE: serving reads the model and portraits from a read replica
(here Django's test MIRROR of "default": its own connection, committed rows only), writes and
training stay on "default", and a version the replica has not replayed yet is read from "default"."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from recommendations import modelstore as storage
from recommendations.checks import check_values
from recommendations.models import ModelPart, ModelPartChunk, ModelVersion, Portrait
from recommendations.portraits import get_portrait
from recommendations.serving import bundle as bundles
from recommendations.serving import recommend
from recommendations.subjects import Subject
from recommendations.training import pipeline as training

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

MODEL_TABLES = (ModelPart._meta.db_table, ModelPartChunk._meta.db_table, ModelVersion._meta.db_table)


def queries_on(captured: CaptureQueriesContext, tables: tuple[str, ...]) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if any(f'"{t}"' in q["sql"] for t in tables)]


@pytest.fixture(autouse=True)
def _close_replica():
    yield
    connections["replica"].close()  # else PostgreSQL refuses to drop the test database at the end


@pytest.fixture
def replica(settings):
    settings.RECOMMENDATIONS_READ_DATABASE = "replica"
    return settings


def test_serving_loads_the_model_from_the_replica_and_training_writes_to_default(shop, replica):
    visitors = shop.history()
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        version = training.rebuild()
    assert queries_on(on_replica, MODEL_TABLES) == []  # training reads and writes "default" only

    bundles.clear()
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_default,
    ):
        recs = recommend(Subject(None, visitors[0]), "for_you", limit=4)
    assert recs and bundles.current().version == version
    assert any(ModelPart._meta.db_table in sql for sql in queries_on(on_replica, MODEL_TABLES))
    assert any(ModelPartChunk._meta.db_table in sql for sql in queries_on(on_replica, MODEL_TABLES))
    assert queries_on(on_default, MODEL_TABLES) == []


def test_a_version_the_replica_has_not_replayed_is_read_from_default(shop, replica):
    shop.history()
    old = training.rebuild()
    assert storage.serving_database(old) == "replica"
    # An open transaction on "default" is what a lagging replica looks like: its connection does
    # not see the new version yet.
    with transaction.atomic():
        new = storage.create_version().pk
        for name, arrays in storage.load_parts(old).items():
            storage.save_part(new, name, arrays)
        assert storage.activate(new)
        assert not ModelVersion.objects.using("replica").filter(pk=new).exists()
        assert storage.serving_database(new) == "default"
        bundles.clear()
        assert bundles.current().version == new
        transaction.set_rollback(True)


def test_portraits_are_read_from_the_replica(shop, replica):
    visitor = shop.history(visitors_per_group=1)[0]
    built = get_portrait(visitor_id=visitor)  # none yet: built and written on "default"
    assert built is not None and Portrait.objects.filter(pk=built.pk).exists()
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_default,
    ):
        assert get_portrait(visitor_id=visitor).pk == built.pk
    table = (Portrait._meta.db_table,)
    assert queries_on(on_replica, table) and not queries_on(on_default, table)


def test_without_the_setting_nothing_reads_the_replica(shop, settings):
    visitors = shop.history()
    training.rebuild()
    bundles.clear()
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        recommend(Subject(None, visitors[0]), "for_you", limit=4)
        get_portrait(visitor_id=uuid.uuid4())
    assert on_replica.captured_queries == []


def test_an_unknown_alias_fails_the_system_check(settings):
    settings.RECOMMENDATIONS_READ_DATABASE = "nowhere"
    assert "recommendations.E021" in [m.id for m in check_values()]
    with pytest.raises(Exception, match="E021"):
        call_command("check")
