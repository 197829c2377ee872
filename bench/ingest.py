"""Ingest benchmark: events/s through the HTTP API on gunicorn, middleware cost, drain rate.

    .venv/bin/python bench/ingest.py [--seconds 5] [--write-docs]

Starts gunicorn (bench.settings: the test project on real PostgreSQL + Redis, Redis mode) and a
Celery worker, then measures on loopback with the asyncio client in bench/loadgen.py:

* POST /api/recommendations/events/ with one event and with batches of 100, each next to the
  floor: a trivial DRF view on the same server that parses the same body and answers 202;
* the product-detail GET in process (Django test client) with and without the middleware;
* the worker draining the stream that the ingest phases filled into PostgreSQL.

Needs PostgreSQL (BENCH_DATABASE_URL, database created if missing) and Redis (REDIS_URL).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402
import psycopg  # noqa: E402

from bench.loadgen import LoadResult, build_request, run_load  # noqa: E402

HOST = "127.0.0.1"
EVENTS = "/api/recommendations/events/"
FLOOR = "/bench/floor/"
TARGET_BATCH_EVENTS = 10_000
TARGET_SINGLE_RATIO = 0.5
TARGET_MIDDLEWARE_MS = 0.3


def ensure_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "dbname": "postgres"}
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    with psycopg.connect(**params, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def reset_state() -> list[str]:
    """Migrate, empty the event log and the bench's Redis keys, and return 200 product ids."""
    from django.core.management import call_command
    from django.db import connection

    from recommendations import runtime
    from recommendations.ingest import stream
    from recommendations.models import Event
    from tests.testapp.models import Category, Item

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Event._meta.db_table}")
    runtime.live_store().clear()
    stream.ensure_group(runtime.redis_client())
    if Item.objects.count() < 200:
        root, _ = Category.objects.get_or_create(name="Outdoor", parent=None)
        leaf, _ = Category.objects.get_or_create(name="Tents", parent=root)
        Item.objects.bulk_create(
            [Item(name=f"Item {n}", category=leaf, price=Decimal(10 + n % 90)) for n in range(200)]
        )
    return [str(pk) for pk in Item.objects.order_by("name").values_list("pk", flat=True)[:200]]


def visitor_cookie() -> str:
    from django.http import HttpResponse

    from recommendations.conf import app_settings
    from recommendations.tracking.visitors import COOKIE_SALT

    response = HttpResponse()
    name = app_settings.VISITOR_COOKIE_NAME
    response.set_signed_cookie(name, str(uuid.uuid4()), salt=COOKIE_SALT)
    return f"{name}={response.cookies[name].value}"


def single_body(products: list[str], n: int) -> bytes:
    return json.dumps({"kind": "view", "product": products[n % len(products)]}).encode()


def batch_body(products: list[str], n: int, size: int = 100) -> bytes:
    events = []
    for i in range(size):
        product = products[(n * 7 + i) % len(products)]
        if i % 10 == 9:
            events.append({"kind": "search", "query": f"tent {i}", "result_count": 12})
        elif i % 10 == 8:
            events.append({"kind": "add_to_cart", "product": product, "quantity": 1})
        else:
            events.append({"kind": "view", "product": product})
    return json.dumps(events).encode()


def start_server(port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "bench.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return wait_until_up(process, port, log)


def wait_until_up(process: subprocess.Popen, port: int, log: Path) -> subprocess.Popen:
    """Return ``process`` once the server answers ``/ping/`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/ping/", timeout=1) as response:
                if response.status == 200:
                    return process
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"gunicorn did not start; see {log}")
        time.sleep(0.2)


def start_worker(queue: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker", "-P", "solo"]
    command += [
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def load(port: int, path: str, bodies: list[bytes], seconds: float, max_requests: int) -> LoadResult:
    requests = [build_request(HOST, port, path, body, visitor_cookie()) for body in bodies]
    result = run_load(HOST, port, requests, seconds=seconds, max_requests=max_requests)
    if result.errors:
        print(f"  ! {path}: {result.errors} errors, statuses {result.statuses}", file=sys.stderr)
    return result


def measure_http(port: int, products: list[str], seconds: float, connections: int) -> dict[str, LoadResult]:
    singles = [single_body(products, n) for n in range(connections)]
    batches = [batch_body(products, n) for n in range(connections)]
    phases = {
        "floor_single": (FLOOR, singles),
        "ingest_single": (EVENTS, singles),
        "floor_batch": (FLOOR, batches),
        "ingest_batch": (EVENTS, batches),
    }
    for path, bodies in phases.values():  # warm every worker's imports, caches and connections
        load(port, path, bodies, 1.0, 2000)
    results: dict[str, LoadResult] = {}
    # Two alternating rounds, so drift (CPU frequency, Redis memory growth) hits floor and ingest alike.
    for _ in range(2):
        for name, (path, bodies) in phases.items():
            result = load(port, path, bodies, seconds / 2, 1_000_000)
            if name in results:
                previous = results[name]
                result = LoadResult(
                    previous.requests + result.requests,
                    previous.errors + result.errors,
                    previous.seconds + result.seconds,
                    previous.latencies + result.latencies,
                )
            results[name] = result
    return results


def measure_middleware(products: list[str], blocks: int, per_block: int) -> dict[str, float]:
    """Per-request µs of a product-detail GET through the test client, with and without the
    middleware (Redis mode: each tracked GET appends a view event)."""
    from django.conf import settings
    from django.test import Client, override_settings

    from recommendations.checks import MIDDLEWARE_PATH
    from recommendations.conf import app_settings

    def client_for(middleware: list[str]) -> Client:
        with override_settings(MIDDLEWARE=middleware):
            client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
            client.get(f"/items/{products[0]}/")  # loads the middleware chain under this setting
        name = app_settings.VISITOR_COOKIE_NAME
        client.cookies[name] = visitor_cookie().split("=", 1)[1]  # a returning visitor
        return client

    full = list(settings.MIDDLEWARE)
    clients = {
        "with": client_for(full),
        "without": client_for([m for m in full if m != MIDDLEWARE_PATH]),
    }
    urls = [f"/items/{pid}/" for pid in products]
    timings: dict[str, list[float]] = {"with": [], "without": []}
    cpu: dict[str, list[float]] = {"with": [], "without": []}
    for block in range(blocks):
        order = ("with", "without") if block % 2 == 0 else ("without", "with")
        for variant in order:
            client = clients[variant]
            started, cpu_started = time.perf_counter(), time.process_time()
            for i in range(per_block):
                response = client.get(urls[i % len(urls)])
            timings[variant].append((time.perf_counter() - started) / per_block * 1e6)
            cpu[variant].append((time.process_time() - cpu_started) / per_block * 1e6)
            assert response.status_code == 200
    with_us, without_us = statistics.median(timings["with"]), statistics.median(timings["without"])
    return {
        "with_us": with_us,
        "without_us": without_us,
        "overhead_us": with_us - without_us,
        # CPU of this process only: the overhead without the wait for the Redis round trip.
        "overhead_cpu_us": statistics.median(cpu["with"]) - statistics.median(cpu["without"]),
    }


def measure_drain(queue: str, timeout: float) -> dict[str, float]:
    from celery import Celery

    from recommendations import runtime
    from recommendations.ingest import stream
    from recommendations.models import Event

    client = runtime.redis_client()
    backlog = client.xlen(stream.stream_key())
    before = Event.objects.count()
    app = Celery("bench-client", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    started = time.perf_counter()
    app.send_task("recommendations.drain_events", queue=queue)
    deadline = started + timeout
    while client.xlen(stream.stream_key()) > 0 and time.perf_counter() < deadline:
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    stored = Event.objects.count() - before
    app.close()
    return {"backlog": backlog, "stored": stored, "seconds": elapsed, "rate": stored / elapsed}


def machine() -> str:
    meminfo = Path("/proc/meminfo").read_text()
    kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    return f"{os.cpu_count()} cores, {kib / 2**20:.0f} GiB RAM, Python {platform.python_version()}"


def report(args, http: dict[str, LoadResult], middleware: dict[str, float], drain: dict[str, float]) -> str:
    fs, s = http["floor_single"], http["ingest_single"]
    fb, b = http["floor_batch"], http["ingest_batch"]
    batch_events, floor_batch_events = b.rate * 100, fb.rate * 100
    single_ratio = s.rate / fs.rate

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    def ms(result: LoadResult) -> str:
        return f"{result.percentile(0.5) * 1e3:.1f} / {result.percentile(0.99) * 1e3:.1f}"

    date = subprocess.run(["date"], capture_output=True, text=True, check=False).stdout.strip()
    load = ", ".join(f"{value:.1f}" for value in args.load_before)
    return f"""## Ingest

Command: `.venv/bin/python bench/ingest.py --seconds {args.seconds:g} --connections {args.connections}`
({args.workers} gunicorn gthread workers x {args.threads} threads, Redis mode, one Celery worker,
load generator `bench/loadgen.py` on loopback, {args.connections} keep-alive connections, one visitor
cookie each). Machine: {machine()}. Date: {date}. Load average before the run: {load}
(other work shares this machine: rates, and to a lesser degree the ratios, move with it).

The floor is a trivial DRF view on the same server that parses the same JSON body and answers 202
(`bench/urls.py`); ratios are against it, measured in alternating rounds in the same run.

| what | result | floor | ratio to floor | p50 / p99 ms | target |
| --- | --- | --- | --- | --- | --- |
| single-event POSTs | {s.rate:,.0f} req/s | {fs.rate:,.0f} req/s | {single_ratio:.2f} | {ms(s)} | >= 0.5x floor: {verdict(single_ratio >= TARGET_SINGLE_RATIO)} |
| batches of 100 | {batch_events:,.0f} events/s ({b.rate:,.0f} req/s) | {floor_batch_events:,.0f} events/s | {batch_events / floor_batch_events:.2f} | {ms(b)} | >= 10,000 events/s: {verdict(batch_events >= TARGET_BATCH_EVENTS)} |
| stream -> PostgreSQL drain | {drain["rate"]:,.0f} events/s ({drain["stored"]:,} events in {drain["seconds"]:.1f} s) | | | | |

Middleware (product-detail GET through the Django test client, in process, {args.blocks} alternating
blocks of {args.per_block}, medians; with it each GET validates and appends one view event to Redis):
{middleware["with_us"]:.0f} µs with, {middleware["without_us"]:.0f} µs without, overhead
**{middleware["overhead_us"]:.0f} µs** per request (target <= {TARGET_MIDDLEWARE_MS * 1000:.0f} µs:
{verdict(middleware["overhead_us"] <= TARGET_MIDDLEWARE_MS * 1000)}), of which
{middleware["overhead_cpu_us"]:.0f} µs is this process's CPU; the rest is waiting for the Redis
round trip.

Errors during load: {sum(r.errors for r in http.values())}. Stream entries after the ingest phases
matched the events accepted: {drain["backlog_ok"]}.
"""


def write_docs(section: str, heading: str = "Ingest") -> None:
    """Replace the ``## <heading>`` section of docs/benchmarks.md (or append it)."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="load per HTTP phase (total, 2 rounds)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--per-block", type=int, default=400)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--write-docs", action="store_true", help="update the ## Ingest section")
    args = parser.parse_args()
    args.load_before = os.getloadavg()

    django.setup()
    ensure_database()
    django.db.connections.close_all()
    products = reset_state()
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-ingest"
    logs.mkdir(parents=True, exist_ok=True)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    server = start_server(args.port, args.workers, args.threads, logs / "gunicorn.log")
    worker = start_worker(queue, logs / "worker.log")
    try:
        from recommendations import runtime
        from recommendations.ingest import stream

        print("HTTP phases...", file=sys.stderr)
        http = measure_http(args.port, products, args.seconds, args.connections)
        backlog = runtime.redis_client().xlen(stream.stream_key())
        print("middleware...", file=sys.stderr)
        middleware = measure_middleware(products, args.blocks, args.per_block)
        print("drain...", file=sys.stderr)
        expected = backlog + args.blocks * args.per_block + 1  # + the tracked GETs (+ 1 warm-up)
        drain = measure_drain(queue, timeout=300)
        drain["backlog_ok"] = f"{drain['stored']:,} stored of {expected:,} expected" + (
            " (all)" if drain["stored"] == expected else " (**mismatch**)"
        )
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=30)
        worker.wait(timeout=30)
    section = report(args, http, middleware, drain)
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
