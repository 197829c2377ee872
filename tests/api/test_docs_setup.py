"""The README's API-docs setup, followed to the letter, serves a titled, versioned schema and the
Swagger UI from the sidecar (issue 10, item 16: it used to give 500s, title '' and 0.0.0)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from django.core.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.core.checks import run_checks
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client(raise_request_exception=False)
schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
docs = client.get("/api/docs/")
print(json.dumps({
    "schema_status": schema.status_code,
    "info": schema.json()["info"] if schema.status_code == 200 else None,
    "docs_status": docs.status_code,
    "docs": docs.content.decode(),
    "checks": [m.id for m in run_checks() if m.id.startswith("recommendations.")],
}))
"""


def _readme_block(comment: str) -> str:
    """The python block of the README's API-docs section that starts with ``# <comment>``."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### API docs", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    (block,) = [b for b in blocks if b.startswith(f"# {comment}")]
    return block


def _run_project(tmp_path: Path, settings_block: str, urls_block: str) -> dict:
    """A project made of the test app's settings and URLs *without* any API-docs setup, plus
    the given blocks, probed in a fresh process."""
    (tmp_path / "docs_project_settings.py").write_text(
        "from tests.settings import *  # noqa\n"
        'INSTALLED_APPS = [a for a in INSTALLED_APPS if not a.startswith("drf_spectacular")]\n'
        'REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {}}\n'
        "del SPECTACULAR_SETTINGS\n"
        'ROOT_URLCONF = "docs_project_urls"\n' + settings_block
    )
    (tmp_path / "docs_project_urls.py").write_text(
        "from django.urls import include, path\n"
        "from tests.urls import urlpatterns as _base\n"
        'urlpatterns = [p for p in _base if "docs_urls" not in str(getattr(p, "urlconf_name", ""))]\n'
        + urls_block
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": f"{ROOT}:{tmp_path}",
            "DJANGO_SETTINGS_MODULE": "docs_project_settings",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_readme_api_docs_setup_works(tmp_path):
    out = _run_project(tmp_path, _readme_block("settings.py"), _readme_block("urls.py"))
    assert out["checks"] == []
    assert out["schema_status"] == 200
    assert out["info"]["title"] == "django-realtime-recommendations API"
    assert out["info"]["version"] == metadata.version("django-realtime-recommendations") != "0.0.0"
    assert out["docs_status"] == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in out["docs"]
    assert "cdn." not in out["docs"] and "jsdelivr" not in out["docs"]


@pytest.mark.slow
def test_check_names_what_the_docs_setup_is_missing(tmp_path):
    """Only the URLs, none of the settings: the check reports the two apps and the schema class."""
    out = _run_project(tmp_path, "", _readme_block("urls.py"))
    assert out["checks"] == ["recommendations.E012"] * 3


def test_project_spectacular_settings_win(client, settings):
    """An integrator's own TITLE/VERSION are kept (tests/settings.py sets TITLE only)."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["info"]["title"] == settings.SPECTACULAR_SETTINGS["TITLE"]
    assert schema["info"]["version"] == metadata.version("django-realtime-recommendations")


def test_check_passes_on_the_test_project():
    assert not [m for m in run_checks() if m.id == "recommendations.E012"]
