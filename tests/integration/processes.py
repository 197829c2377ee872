"""Real processes the integration tests start: Celery workers and a private Redis server."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.02, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL naming the database this test process uses (the *test* database)."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def free_port(exclude: frozenset[int] | set[int] = frozenset()) -> int:
    """A free loopback port; within ``INTEGRATION_PORTS`` ("8130-8139") when that is set, so a
    developer sharing the machine keeps the servers the tests start to their own ports."""
    span = os.environ.get("INTEGRATION_PORTS", "")
    if span:
        low, _, high = span.partition("-")
        for port in range(int(low), int(high or low) + 1):
            if port in exclude:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port in INTEGRATION_PORTS={span}")
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in exclude:
            return port


#: the test project's Celery command line, before its sub-command (worker, beat)
CELERY = (sys.executable, "-m", "celery", "-A", "tests.celery_app")


def terminate(process: subprocess.Popen, log: Any, grace: float = 10) -> None:
    """SIGTERM ``process`` and wait ``grace`` seconds for it (then SIGKILL), and close its log."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    log.close()


class Worker:
    """``celery -A tests.celery_app worker`` with the solo pool, so its pid is the process that
    drains (SIGKILL hits the drain itself, not a pool supervisor)."""

    def __init__(
        self, env: dict[str, str], broker_url: str, log_dir: Path, *, queue: str | None = None
    ) -> None:
        # A queue of its own unless told to share one (the scale-out tests: workers behind one beat):
        # a task message a killed worker took can never reach the next one.
        self.queue = queue or f"rectest-{uuid.uuid4().hex[:10]}"
        self.name = f"{self.queue}-{uuid.uuid4().hex[:6]}"
        self.broker_url = broker_url
        self.log_path = log_dir / f"worker-{self.name}.log"
        env = {**env, "RECOMMENDATIONS_TEST_QUEUE": self.queue}
        command = [
            *CELERY,
            "worker",
            "-P",
            "solo",
            "-Q",
            self.queue,
            "-n",
            f"{self.name}@%h",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        self._command, self._env = command, env
        self._log = self.log_path.open("wb")
        self.process = self._launch()

    def _launch(self) -> subprocess.Popen:
        return subprocess.Popen(
            self._command, cwd=ROOT, env=self._env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def relaunch(self) -> None:
        """Start the same worker again (same queue, same log) after its process exited."""
        assert self.process.poll() is not None, "the worker is still running"
        self.process = self._launch()

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def drain(self) -> None:
        """Enqueue ``recommendations.drain_events`` for this worker through the broker."""
        send_task(self.broker_url, self.queue, "recommendations.drain_events")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no acknowledgement, exactly like a crashed machine."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        terminate(self.process, self._log)

    def forget_queue(self) -> None:
        """Remove the queue's binding key from the broker (kombu leaves it behind)."""
        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=1)
        try:
            client.delete(f"_kombu.binding.{self.queue}", self.queue)
        except redis.ConnectionError:
            pass  # a private broker the test already stopped, and its keys with it
        finally:
            client.close()


class Supervisor:
    """Starts a worker again whenever its process exits, after ``delay`` seconds, as systemd's
    ``Restart=always`` or compose's ``restart: unless-stopped`` do (docs/deployment.md).
    ``restarts`` counts how often it had to."""

    def __init__(self, worker: Worker, *, delay: float = 1.0) -> None:
        self.worker = worker
        self.delay = delay
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.1):
            if self.worker.process.poll() is not None and not self._stopping.wait(self.delay):
                self.worker.relaunch()
                self.restarts += 1

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)


def send_task(broker_url: str, queue: str, name: str, **kwargs: Any) -> None:
    """Send a task by name through the broker with a throw-away client app (never the current app,
    which the unit tests run eagerly)."""
    app = Celery("integration-client", broker=broker_url, set_as_current=False)
    try:
        app.send_task(name, kwargs=kwargs, queue=queue)
    finally:
        app.close()


class RedisServer:
    """A private ``redis-server`` on a free loopback port, with no persistence; ``persistent``: with
    an append-only file in ``log_dir`` (as docker-compose.yml runs it), so :meth:`kill` then
    :meth:`start` is a crash and a restart that keeps the data."""

    def __init__(self, log_dir: Path, *, persistent: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        if persistent:
            data = log_dir / f"redis-{self.port}-data"
            data.mkdir()
            self._command += ["--appendonly", "yes", "--dir", str(data)]
        else:
            self._command += ["--appendonly", "no"]
        self._log = (log_dir / f"redis-{self.port}.log").open("ab")
        self.client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        self.start()

    def start(self) -> None:
        """(Re)start the server on its port."""
        self.process = subprocess.Popen(self._command, stdout=self._log, stderr=subprocess.STDOUT)
        wait_for(self._ping, timeout=10, what=f"redis-server on port {self.port}")

    def kill(self) -> None:
        """SIGKILL, like a crash: no shutdown save, clients see their connections reset."""
        self.process.kill()
        self.process.wait(timeout=10)
        self.client.connection_pool.disconnect()

    def _ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.client.close()
        self._log.close()


class Gunicorn:
    """The test project under gunicorn with the documented config (docs/gunicorn.conf.py: gthread
    workers), on a free loopback port: requests go through a real WSGI server, worker processes
    and their own database and Redis connections, as in production."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        *,
        workers: int = 2,
        threads: int = 4,
        port: int | None = None,
        wait: float | None = 30,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"gunicorn-{self.port}-{uuid.uuid4().hex[:6]}.log"
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            "RECOMMENDATIONS_GUNICORN_WARM": "0",
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "docs" / "gunicorn.conf.py"),
            "django.core.wsgi:get_wsgi_application()",
        ]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        if wait:
            self.wait_up(wait)

    def wait_up(self, timeout: float = 30) -> None:
        """Wait until it answers; a server that never does is killed before the failure is
        raised (the caller has no object to stop, so it would outlive the test, holding its port)."""
        try:
            wait_for(self._up, timeout=timeout, what=f"gunicorn on port {self.port}")
        except BaseException:
            self.kill()
            raise

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited ({self.process.returncode}):\n{self.log()}")
        try:
            with urllib.request.urlopen(self.url + "/ping/", timeout=5) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, like a host that died: requests in flight
        get no answer and nothing is cleaned up."""
        for pid in [self.process.pid, *children_of(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        terminate(self.process, self._log, grace=15)


class Beat:
    """``celery -A tests.celery_app beat`` sending the app's own schedule
    (``recommendations.schedules.beat_schedule``) to ``queue``; the drain every ``drain_every``
    seconds."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, queue: str, drain_every: float = 0.5) -> None:
        self.log_path = log_dir / f"beat-{queue}.log"
        env = {
            **env,
            "RECOMMENDATIONS_TEST_BEAT_QUEUE": queue,
            "RECOMMENDATIONS_TEST_BEAT_DRAIN_EVERY": str(drain_every),
        }
        command = [
            *CELERY,
            "beat",
            "--schedule",
            str(log_dir / f"beat-{queue}.schedule"),
            "--loglevel",
            "INFO",
        ]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        terminate(self.process, self._log)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (Linux)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDATIONS_TEST_")}
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["PYTHONPATH"] = str(ROOT)
    return env
