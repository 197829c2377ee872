"""A small HTTP/1.1 keep-alive load generator for loopback servers (asyncio, no dependencies).

Bounded in both time and request count; each connection plays one visitor (its own cookie) and
sends the same prepared request over and over (or cycles through its own list of prepared
requests, e.g. several visitors). Back to back by default; with ``interval`` each connection sends
on a fixed schedule and latency counts from the scheduled send time (no coordinated omission).
Only 2xx answers count as done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float] = field(repr=False, default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_request(
    host: str, port: int, path: str, body: bytes, cookie: str | None, method: str = "POST"
) -> bytes:
    headers = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0",
    ]
    if body or method != "GET":
        headers += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    headers.append("Connection: keep-alive")
    if cookie:
        headers.append(f"Cookie: {cookie}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str,
    port: int,
    request: bytes | Sequence[bytes],
    deadline: float,
    budget: list[int],
    result: LoadResult,
    interval: float | None = None,
    offset: float = 0.0,
) -> None:
    cycle = [request] if isinstance(request, bytes) else list(request)
    sent = 0
    scheduled = time.perf_counter() + offset
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            if interval is not None:
                if scheduled > time.perf_counter():
                    await asyncio.sleep(scheduled - time.perf_counter())
                if scheduled >= deadline:
                    break
                started, scheduled = scheduled, scheduled + interval
            else:
                started = time.perf_counter()
            budget[0] -= 1
            writer.write(cycle[sent % len(cycle)])
            sent += 1
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                result.requests += 1
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1
    finally:
        writer.close()


async def _run(
    host: str,
    port: int,
    requests: Sequence[bytes | Sequence[bytes]],
    seconds: float,
    max_requests: int,
    interval: float | None = None,
) -> LoadResult:
    result = LoadResult(requests=0, errors=0, seconds=0.0)
    budget = [max_requests]
    started = time.perf_counter()
    deadline = started + seconds
    stagger = (interval or 0.0) / max(len(requests), 1)  # paced connections spread over an interval
    await asyncio.gather(
        *(
            _connection(host, port, r, deadline, budget, result, interval, n * stagger)
            for n, r in enumerate(requests)
        )
    )
    result.seconds = time.perf_counter() - started
    return result


def run_load(
    host: str,
    port: int,
    requests: Sequence[bytes | Sequence[bytes]],
    *,
    seconds: float,
    max_requests: int,
    interval: float | None = None,
) -> LoadResult:
    """One keep-alive connection per entry of ``requests`` (a prepared request, or a list the
    connection cycles through); stops at ``seconds`` or ``max_requests``. ``interval``: each
    connection sends every ``interval`` seconds instead of back to back."""
    return asyncio.run(_run(host, port, requests, seconds, max_requests, interval))
