"""The scale-out topology as real processes: N web servers (gunicorn with docs/gunicorn.conf.py),
N Celery workers on one shared queue and one beat, against one PostgreSQL database and one Redis,
plus shoppers that drive the HTTP API over every web server and retry on the next one when a
server dies, as a load balancer's clients do. docker-compose.scale.yml describes the same
topology in containers; the integration test and bench/scaleout.py run this one.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.integration.httpclient import Browser
from tests.integration.processes import Beat, Gunicorn, Worker, free_port, wait_for


@dataclass
class Stack:
    """``pairs`` web servers and ``pairs`` Celery workers sharing one queue, and one beat."""

    env: dict[str, str]
    broker_url: str
    log_dir: Path
    pairs: int = 2
    web_workers: int = 1
    web_threads: int = 4
    drain_every: float = 0.5
    boot_timeout: float = 90
    queue: str = field(default_factory=lambda: f"recscale-{uuid.uuid4().hex[:10]}")
    webs: list[Gunicorn] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    retired: list[Worker] = field(default_factory=list)
    beat: Beat | None = None

    def start(self) -> Stack:
        """Launch everything at once (a loaded machine takes many seconds per Django process);
        whatever started is stopped again if one part does not come up."""
        try:
            self.workers = [self.start_worker() for _ in range(self.pairs)]
            ports: set[int] = set()
            for _ in range(self.pairs):
                ports.add(free_port(exclude=ports))
            self.webs = [self.start_web(port, wait=False) for port in sorted(ports)]
            self.beat = Beat(self.env, self.log_dir, queue=self.queue, drain_every=self.drain_every)
            for web in self.webs:
                web.wait_up(self.boot_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_web(self, port: int | None = None, *, wait: bool = True) -> Gunicorn:
        # a port of its own (not a free one picked now) so a restarted server answers where it did
        return Gunicorn(
            self.env,
            self.log_dir,
            workers=self.web_workers,
            threads=self.web_threads,
            port=port,
            wait=self.boot_timeout if wait else None,
        )

    def start_worker(self) -> Worker:
        return Worker(self.env, self.broker_url, self.log_dir, queue=self.queue)

    @property
    def urls(self) -> list[str]:
        return [web.url for web in self.webs]

    def kill_web(self, index: int) -> int:
        """SIGKILL web server ``index``; returns its port for the restart."""
        web = self.webs[index]
        web.kill()
        return web.port

    def restart_web(self, index: int, port: int) -> None:
        self.webs[index] = self.start_web(port)

    def replace_worker(self, worker: Worker) -> Worker:
        """SIGKILL ``worker`` and start a new one on the shared queue in its place."""
        worker.kill()
        self.retired.append(worker)
        fresh = self.start_worker()
        self.workers[self.workers.index(worker)] = fresh
        return fresh

    def stop(self) -> None:
        if self.beat is not None:
            self.beat.stop()
        for web in self.webs:
            web.stop()
        for worker in self.workers:
            worker.stop()
        client = redis.Redis.from_url(self.broker_url)
        try:  # the queue, its binding and whatever beat sent after the workers stopped
            client.delete(f"_kombu.binding.{self.queue}", self.queue)
        finally:
            client.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# What a dying server does to a request in flight or a new connection.
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


class Shopper(Browser):
    """One visitor (one cookie jar: cookies are not scoped to ports, so every web server sees the
    same visitor) whose requests go to each web server in turn; a request a server did not answer
    is sent again to the next one, the same batch with the same event ids, until it is accepted."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(urls[0])
        self.urls = urls
        self.turn = 0
        self.retries = 0

    def _each_server(self, deadline_tries: int = 200) -> Iterator[str]:
        for _ in range(deadline_tries):
            self.turn += 1
            yield self.urls[self.turn % len(self.urls)].rstrip("/")

    def send_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        for url in self._each_server():
            self.base_url = url
            try:
                status, body = self.post_events(events)
            except (*TRANSPORT_ERRORS, ValueError):  # ValueError: a dying server's non-JSON answer
                self.retries += 1
                continue
            if status == 202:
                return body
            if status >= 500:
                self.retries += 1
                continue
            raise AssertionError(f"{url} refused the batch: {status} {body}")
        raise AssertionError("no web server accepted the batch")

    def ad_slot(self, slot: str) -> list[dict[str, Any]] | None:
        """One ad request (charged when served); None when the server died under it (not retried:
        a page whose ad request failed shows no ad)."""
        self.turn += 1
        url = self.urls[self.turn % len(self.urls)].rstrip("/")
        request = urllib.request.Request(  # noqa: S310 - always a test server's http:// URL
            f"{url}/api/recommendations/ads/{slot}/", headers={"User-Agent": self.user_agent}
        )
        try:
            with self._opener.open(request, timeout=30) as response:
                return json.loads(response.read())["results"]
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                return None
            raise
        except TRANSPORT_ERRORS:
            return None

    def greet(self) -> None:
        """Load a page first, as a browser does: the visitor cookie every later request carries."""
        for url in self._each_server():
            self.base_url = url
            try:
                if self.get_json("/ping/")[0] == 200:
                    return
            except TRANSPORT_ERRORS:
                continue
        raise AssertionError("no web server answered")


def wait_until_drained(client: redis.Redis, stream_key: str, group: str, *, timeout: float) -> None:
    def empty() -> bool:
        pending = client.xpending(stream_key, group)
        return client.xlen(stream_key) == 0 and int(pending["pending"]) == 0

    wait_for(empty, timeout=timeout, interval=0.1, what="the stream to drain")
