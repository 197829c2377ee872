"""Redis killed (SIGKILL) under a draining worker, then restarted: the stack recovers by itself.

Broker and stream live on a private redis-server with an append-only file, as docker-compose.yml
runs it. The worker either survives the outage and reconnects, or exits and is started again by
its supervisor (``Supervisor`` does what ``Restart=always`` does). Either way the events written
before the crash are drained once each, and ``manage.py recommendations_health`` says unhealthy
during the outage and healthy after.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from django.db import connection

from recommendations import runtime
from recommendations.ingest import stream
from recommendations.models import Event
from tests.integration.conftest import backlog_of
from tests.integration.processes import ROOT, Supervisor, base_env, database_url, wait_for
from tests.integration.test_worker_crash import fill_stream

pytestmark = [pytest.mark.redis, pytest.mark.celery, pytest.mark.slow]


@pytest.fixture
def crashable_redis(requires_postgres, tmp_path, redis_settings, redis_url):
    """A private, persistent redis-server the app (here and in workers) uses for everything."""
    from tests.integration.processes import RedisServer

    server = RedisServer(tmp_path, persistent=True)
    redis_settings.RECOMMENDATIONS_REDIS_URL = server.url
    runtime.reset()
    yield server
    server.stop()
    redis_settings.RECOMMENDATIONS_REDIS_URL = redis_url  # for redis_settings' own clean-up
    runtime.reset()


def health(server, prefix: str) -> tuple[int, dict]:
    """``manage.py recommendations_health --json`` in a process of its own, as a monitor runs it."""
    env = base_env()
    env.update(
        DATABASE_URL=database_url(connection.settings_dict),
        RECOMMENDATIONS_TEST_REDIS_URL=server.url,
        RECOMMENDATIONS_TEST_KEY_PREFIX=prefix,
    )
    done = subprocess.run(
        [sys.executable, "-m", "django", "recommendations_health", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def failing(body: dict) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["ok"]}


def test_the_stack_recovers_from_redis_killed_mid_drain(
    crashable_redis, redis_settings, catalogue, start_worker
):
    server, prefix = crashable_redis, redis_settings.RECOMMENDATIONS_REDIS_KEY_PREFIX
    worker = start_worker(
        batch_size=100,
        claim_idle=1.0,
        data_redis_url=server.url,
        broker_url=server.url.removesuffix("/0") + "/1",
    )
    supervisor = Supervisor(worker)
    try:
        first = fill_stream(catalogue, 200)
        worker.drain()
        wait_for(lambda: Event.objects.count() == 200, timeout=60, what="the first drain")
        code, body = health(server, prefix)
        assert (code, body["healthy"]) == (0, True), body

        second = fill_stream(catalogue, 3000)
        worker.drain()
        wait_for(lambda: Event.objects.count() > 200, timeout=60, interval=0.005, what="the drain to start")
        server.kill()  # mid-drain: some batches stored, one maybe read and not acknowledged
        stored_at_crash = Event.objects.count()
        assert stored_at_crash < 3200, "the drain finished before the crash; nothing was tested"

        code, body = health(server, prefix)
        assert (code, body["healthy"], failing(body)) == (1, False, {"redis"}), body
        time.sleep(3)  # the worker's connections fail; it retries (or exits)

        server.start()  # the append-only file brings the stream back
        # nothing that was not stored is missing (a batch stored but not acknowledged is there too)
        assert backlog_of(server.client)["length"] >= 3200 - stored_at_crash
        worker_pid_before = worker.pid
        worker.drain()  # what beat sends every second
        wait_for(
            lambda: backlog_of(server.client)["length"] == 0,
            timeout=120,
            interval=0.2,
            what=f"the stream to drain after the restart (worker restarts: {supervisor.restarts})",
        )
    finally:
        supervisor.stop()

    stored = list(Event.objects.values_list("event_id", flat=True))
    assert len(stored) == len(set(stored)) == 3200
    assert set(stored) == first | second
    assert backlog_of(server.client) == {"length": 0, "pending": 0}
    assert server.client.xlen(stream.dead_letter_key()) == 0
    code, body = health(server, prefix)
    assert (code, body["healthy"]) == (0, True), body
    assert body["checks"]["worker_heartbeat"]["value"] < 30
    assert worker.process.poll() is None, worker.log()
    print(
        f"worker restarts by the supervisor: {supervisor.restarts}; pid {worker_pid_before} -> {worker.pid}"
    )
