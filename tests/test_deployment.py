"""The shipped deployment keeps the drain running: restart policies, a persistent Redis, Celery
settings that ride out a broker outage, and the documented supervisor examples."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_every_long_running_compose_service_restarts():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]  # YAML merge keys (<<: *app) resolved
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name].get("restart") in ("always", "unless-stopped"), name
    assert services["migrate"]["restart"] == "no"
    assert "--appendonly" in services["redis"]["command"]
    assert services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1] == "yes"


def test_celery_settings_retry_the_broker_forever():
    from shop_demo import settings as demo

    assert demo.CELERY_BROKER_CONNECTION_MAX_RETRIES is None
    assert demo.CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP is True


def test_deployment_guide_documents_supervisors_and_the_health_command():
    guide = (ROOT / "docs" / "deployment.md").read_text()
    units = re.findall(r"```ini\n(.*?)```", guide, flags=re.S)
    systemd = next(unit for unit in units if "[Service]" in unit)
    assert "Restart=always" in systemd
    assert "StartLimitIntervalSec=0" in systemd
    assert re.search(r"ExecStart=.*celery -A \S+ worker", systemd)
    supervisord = next(unit for unit in units if "[program:" in unit)
    assert "autorestart=true" in supervisord
    assert "CELERY_BROKER_CONNECTION_MAX_RETRIES = None" in guide
    assert "manage.py recommendations_health" in guide
