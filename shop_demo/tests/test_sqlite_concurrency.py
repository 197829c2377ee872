"""The demo as ``make demo`` runs it (runserver, a SQLite file, eager tasks, the in-process live
store) loses nothing under ordinary concurrency: 4 clients posting 50 events each and 8 clients
opening 6 product pages each, all at once. On Django's default SQLite settings (DEFERRED
transactions) this failed 78 of 200 POSTs with "database is locked" and lost 18 of 48 views.

A real server process, not the test client: the failure needs several request threads, each
with its own connection to the same database file.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import BROWSER

ROOT = Path(__file__).resolve().parents[2]
POST_CLIENTS, POSTS_EACH = 4, 50
PAGE_CLIENTS, PAGES_EACH = 8, 6


def _free_port() -> int:
    """A free loopback port; within INTEGRATION_PORTS ("8130-8139") when set, as the integration
    tests do, so a developer sharing the machine keeps to their own ports."""
    span = os.environ.get("INTEGRATION_PORTS", "")
    candidates = []
    if span:
        low, _, high = span.partition("-")
        candidates = list(range(int(low), int(high or low) + 1))
    for port in candidates or [0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in INTEGRATION_PORTS={span}")


def _demo_env(database: Path) -> dict[str, str]:
    """The environment of ``make demo`` (no service URL), on a database file of the test's own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"} and not key.startswith("DJANGO_")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="shop_demo.settings",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300
    )


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """runserver (threaded, as ``make demo``) on a small seeded shop; yields (url, db, log)."""
    database = tmp_path / "demo.sqlite3"
    env = _demo_env(database)
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "seed_demo", "--products=40", "--categories=4", "--shoppers=0", "--no-train",
            "--no-portraits", "-v0")  # fmt: skip
    port = _free_port()
    log_path = tmp_path / "runserver.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    pytest.fail(f"runserver exited ({server.returncode}):\n{log_path.read_text()}")
                try:
                    with urllib.request.urlopen(url + "/", timeout=5):  # noqa: S310 - our server
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"runserver did not answer within 60 s:\n{log_path.read_text()}")
                    time.sleep(0.2)
            yield url, database, log_path
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database, timeout=30) as connection:
        return dict(connection.execute("SELECT source, COUNT(*) FROM recommendations_event GROUP BY source"))


def _run_clients(count: int, work: callable) -> None:  # type: ignore[valid-type]
    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)


def test_concurrent_clients_lose_no_event(demo_server: tuple[str, Path, Path]) -> None:
    url, database, log_path = demo_server
    with sqlite3.connect(database) as connection:
        products = [
            pk for (pk,) in connection.execute("SELECT id FROM shop_product WHERE is_active ORDER BY id")
        ]
    before = _counts(database)
    failures: list[str] = []
    run = uuid.uuid4().hex[:8]

    def browser() -> urllib.request.OpenerDirector:
        # Each client keeps its cookies (its visitor id), as a browser does.
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        opener.addheaders = [("User-Agent", BROWSER)]
        return opener

    def fetch(opener: urllib.request.OpenerDirector, request: urllib.request.Request | str) -> None:
        try:
            with opener.open(request, timeout=60) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            failures.append(f"{exc.code} {exc.url}: {exc.read()[:200]!r}")
        except OSError as exc:
            failures.append(f"{request}: {exc!r}")

    def post_events(client: int) -> None:
        opener = browser()
        for index in range(POSTS_EACH):
            body = {
                "kind": "view",
                "product": products[index % len(products)],
                "event_id": f"{run}-{client}-{index}",
            }
            request = urllib.request.Request(  # noqa: S310 - our server
                url + "/api/recommendations/events/",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            fetch(opener, request)

    def open_pages(client: int) -> None:
        opener = browser()
        for index in range(PAGES_EACH):
            fetch(opener, f"{url}/products/{products[(client * PAGES_EACH + index) % len(products)]}/")

    _run_clients(POST_CLIENTS, post_events)
    posted = _counts(database)
    _run_clients(PAGE_CLIENTS, open_pages)
    after = _counts(database)

    log = log_path.read_text(errors="replace")
    assert failures == [], f"{len(failures)} requests failed, e.g. {failures[:3]}"
    assert posted.get("api", 0) - before.get("api", 0) == POST_CLIENTS * POSTS_EACH
    assert after.get("middleware", 0) - posted.get("middleware", 0) == PAGE_CLIENTS * PAGES_EACH
    assert "database is locked" not in log
    assert "failed" not in log.lower(), log[-3000:]
