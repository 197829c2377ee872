"""Settings object, system checks, the product adapter, migrations and the import contracts."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from recommendations.catalogue.products import ProductAdapter, get_product_model, product_info
from recommendations.conf import app_settings

ROOT = Path(__file__).resolve().parent.parent


def test_settings_defaults_and_overrides():
    from django.test import override_settings

    assert app_settings.MAX_BATCH_SIZE == 500
    with override_settings(RECOMMENDATIONS_MAX_BATCH_SIZE=7):
        assert app_settings.MAX_BATCH_SIZE == 7
    assert app_settings.MAX_BATCH_SIZE == 500


def test_unknown_setting_is_an_error():
    with pytest.raises(AttributeError, match="Invalid recommendations setting"):
        _ = app_settings.NOPE


def test_event_weights_include_custom_kinds():
    assert app_settings.event_weights["wishlist"] == 2.0
    assert app_settings.event_weights["purchase"] == 5.0


def test_dotted_path_settings_are_imported():
    from tests.testapp.adapters import ItemAdapter

    assert app_settings.PRODUCT_ADAPTER is ItemAdapter


def _ids(settings_obj=None):
    return {message.id for message in run_checks(include_deployment_checks=False)}


def test_checks_pass_on_a_good_configuration():
    assert not {i for i in _ids() if i.startswith("recommendations.")}


def test_check_missing_product_model(settings):
    settings.RECOMMENDATIONS_PRODUCT_MODEL = None
    assert "recommendations.E001" in _ids()


@pytest.mark.parametrize("label", ["testapp.Nope", "not-a-label"])
def test_check_invalid_product_model(settings, label):
    settings.RECOMMENDATIONS_PRODUCT_MODEL = label
    assert "recommendations.E002" in _ids()


def test_check_missing_middleware(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "recommendations" not in m]
    assert "recommendations.W001" in _ids()


def test_check_middleware_before_auth(settings):
    mw = [m for m in settings.MIDDLEWARE if "recommendations" not in m]
    settings.MIDDLEWARE = ["recommendations.tracking.middleware.RecommendationsMiddleware", *mw]
    assert "recommendations.W002" in _ids()


@pytest.mark.parametrize(
    ("weights", "check_id"),
    [
        ({"view": "heavy"}, "recommendations.E005"),
        ({"": 1.0}, "recommendations.E004"),
        (["view"], "recommendations.E003"),
    ],
)
def test_check_invalid_weights(settings, weights, check_id):
    settings.RECOMMENDATIONS_EVENT_WEIGHTS = weights
    assert check_id in _ids()


def test_check_tracked_view_with_unknown_kind(settings):
    settings.RECOMMENDATIONS_TRACKED_VIEWS = {"item_detail": {"kind": "gaze"}}
    assert "recommendations.E006" in _ids()


def test_product_model_has_a_uuid_key():
    model = get_product_model()
    assert model._meta.label == "testapp.Item"
    assert model._meta.pk.get_internal_type() == "UUIDField"


@pytest.mark.django_db
def test_default_adapter_reads_common_names(item, category):
    adapter = ProductAdapter()
    assert adapter.title(item) == "Tent"
    assert adapter.categories(item) == [str(category.parent_id), str(category.pk)]
    assert adapter.url(item) == f"/items/{item.pk}/"
    assert adapter.price(item) == item.price
    assert adapter.brand(item) is None


@pytest.mark.django_db
def test_product_info_is_cached_and_invalidated_on_save(item, django_assert_num_queries):
    key = str(item.pk)
    with django_assert_num_queries(1):
        assert product_info([key])[key].available
        product_info([key])
    item.active = False
    item.save()
    assert product_info([key])[key].available is False


@pytest.mark.django_db
def test_migrations_are_complete():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_import_contracts_hold():
    """The engine is free of Django/Celery/DRF/Redis; the app never imports the demo shop."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("label", ["testapp.Ordr", "orders"])
def test_check_invalid_order_model(settings, label):
    settings.RECOMMENDATIONS_ORDER_MODEL = label
    assert "recommendations.E013" in _ids()


def test_check_valid_order_model(settings):
    settings.RECOMMENDATIONS_ORDER_MODEL = "testapp.Order"
    assert not {i for i in _ids() if i.startswith("recommendations.")}


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("PRODUCT_ADAPTER", "tests.testapp.adapters.Nope", "recommendations.E008"),
        ("ORDER_ADAPTER", "tests.testapp.adapters.ItemAdapter", "recommendations.E008"),
        ("IP_MODE", "full", "recommendations.E009"),
        ("ITEMKNN_SIMILARITY", "jaccard", "recommendations.E009"),
        ("MAX_BATCH_SIZE", 0, "recommendations.E010"),
        ("RETENTION_DAYS", "365", "recommendations.E010"),
        ("REDIS_URL", "127.0.0.1:6379", "recommendations.E011"),
        ("ADS_COOKIELESS_FREQUENCY_CAP", -1, "recommendations.E022"),
        ("ADS_COOKIELESS_FREQUENCY_CAP", "3", "recommendations.E022"),
        ("HEALTH_MAX_DEAD_LETTERS", 0.5, "recommendations.E022"),
        ("SLOT_NEAR_CACHE_ENTRIES", -5, "recommendations.E022"),
        ("ORDER_MODLE", "testapp.Order", "recommendations.W003"),
    ],
)
def test_check_setting_values(settings, name, value, check_id):
    setattr(settings, f"RECOMMENDATIONS_{name}", value)
    assert check_id in _ids()


def test_misspelt_setting_names_the_real_one(settings):
    settings.RECOMMENDATIONS_ORDER_MODLE = "testapp.Order"
    (warning,) = [m for m in run_checks() if m.id == "recommendations.W003"]
    assert "RECOMMENDATIONS_ORDER_MODEL" in warning.hint


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('RECOMMENDATIONS_ORDER_MODEL = "testapp.Ordr"', "RECOMMENDATIONS_ORDER_MODEL refers to model"),
        ('RECOMMENDATIONS_PRODUCT_MODEL = "testapp.Itme"', "RECOMMENDATIONS_PRODUCT_MODEL refers to model"),
    ],
)
def test_start_up_fails_fast_on_a_model_that_does_not_resolve(tmp_path, setting, message):
    """gunicorn and Celery never run the system checks: AppConfig.ready() must not swallow the
    error and start a shop that records nothing."""
    (tmp_path / "typo_settings.py").write_text(f"from tests.settings import *  # noqa\n{setting}\n")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{tmp_path}", "DJANGO_SETTINGS_MODULE": "typo_settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr, result.stderr


@pytest.mark.parametrize("backend", ["implicit", "tensorflow"])
def test_check_engine_backend_that_cannot_run(settings, monkeypatch, backend):
    from recommendations.engine import backends

    monkeypatch.setattr(backends, "implicit_available", lambda: False)  # as if not installed
    settings.RECOMMENDATIONS_ENGINE_BACKEND = backend
    assert "recommendations.E007" in _ids()


@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_check_engine_backend_that_always_runs(settings, monkeypatch, backend):
    from recommendations.engine import backends

    monkeypatch.setattr(backends, "implicit_available", lambda: False)
    settings.RECOMMENDATIONS_ENGINE_BACKEND = backend
    assert "recommendations.E007" not in _ids()
