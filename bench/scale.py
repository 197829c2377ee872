"""Growth benchmark: a seeded synthetic shop at several sizes, measured on PostgreSQL and Redis.

    nice .venv/bin/python bench/scale.py --sizes 100k              # smoke run (~1 min)
    nice .venv/bin/python bench/scale.py --sizes 1m,3m,10m --write-docs

Each size runs in a fresh child process (its peak memory is its own) against the database
``SCALE_DATABASE_URL`` (default ``rec_scale``) and Redis ``SCALE_REDIS_URL`` (default db 6), see
``bench/scale_settings.py``. The run empties both first. Per size it measures:

* **ingest**: a sample of events written by the app's own database path (``build_rows`` +
  ``insert_rows``, what the stream drain and ``import_events`` run) into the already filled
  table, in events/s; the bulk of the history is loaded with COPY into a staging table and one
  ``INSERT ... SELECT`` (also timed, it is how a migration from another tool would load); then
  the event table's heap and index sizes;
* **full rebuild** (``training.pipeline``, in process, the configured engine backend): time and
  peak resident memory of each step (the kernel's high-water mark, reset before each step);
* **model artifacts**: bytes per stored part, and the time a worker takes to load the bundle;
* **Redis**: memory per live visitor (20 events each, used_memory before/after, and the mean
  ``MEMORY USAGE`` of a visitor key);
* **for-you latency** (``recommend()``, in process, warm) for live visitors and trained ones.

The parent prints a table, fits growth exponents (log-log least squares over the sizes) and
with ``--write-docs`` replaces the "## Scale" section of docs/benchmarks.md and writes
docs/scale.svg. Raw results go to bench/out/scale-<size>.json.

The shop: ``products / 400`` leaf categories under 10 roots; visitors with Pareto activity who
each favour two leaves (80 % of their events, Zipf popularity inside the leaf, the rest Zipf over
the whole catalogue); kinds view 80 %, add_to_cart 12 %, purchase 5 %, remove_from_cart 3 %;
timestamps uniform over the last 90 days; every visitor anonymous (a ``visitor_id``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

#: name -> (events, products, visitors)
SIZES = {
    "100k": (100_000, 2_000, 10_000),
    "300k": (300_000, 6_000, 30_000),
    "1m": (1_000_000, 20_000, 100_000),
    "3m": (3_000_000, 60_000, 300_000),
    "10m": (10_000_000, 200_000, 1_000_000),
    "30m": (30_000_000, 1_000_000, 3_000_000),
}
KINDS = ("view", "add_to_cart", "purchase", "remove_from_cart")
KIND_P = (0.80, 0.12, 0.05, 0.03)
DAY = 86_400.0
INGEST_SAMPLE = 20_000
LIVE_VISITORS = 2_000
LIVE_EVENTS = 20
LATENCY_CALLS = 300


# --- memory: the kernel's high-water mark of this process, resettable ---------------------------


def rss_peak_reset() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets VmHWM to the current RSS
        f.write("5")


def rss(field: str = "VmHWM") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


class Steps:
    """Wall time and peak RSS per named step (steps do not nest)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak: dict[str, int] = {}

    def run(self, name, fn, *args, **kwargs):
        rss_peak_reset()
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.peak[name] = max(self.peak.get(name, 0), rss())


# --- the shop ------------------------------------------------------------------------------------


def zipf(n: int, s: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def make_catalogue(n_products: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Categories and items through COPY; returns item ids (index order) and each item's leaf."""
    from django.db import connection

    n_leaves = max(20, n_products // 400)
    leaf_of = rng.integers(0, n_leaves, n_products)
    ids = [str(uuid.UUID(int=int(a) << 64 | int(b))) for a, b in rng.integers(0, 2**62, (n_products, 2))]
    prices = rng.integers(500, 30_000, n_products) / 100
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM testapp_category")
        base = cursor.fetchone()[0] + 1
        raw = cursor.cursor
        with raw.copy("COPY testapp_category (id, name, parent_id) FROM STDIN") as copy:
            for r in range(10):
                copy.write_row((base + r, f"Root {r}", None))
            for leaf in range(n_leaves):
                copy.write_row((base + 10 + leaf, f"Leaf {leaf}", base + leaf % 10))
        with raw.copy("COPY testapp_item (id, name, blurb, price, active, category_id) FROM STDIN") as copy:
            for i in range(n_products):
                leaf = int(leaf_of[i])
                copy.write_row(
                    (
                        ids[i],
                        f"Leaf {leaf} item {i}",
                        f"word{leaf % 97} word{i % 389}",
                        prices[i],
                        True,
                        base + 10 + leaf,
                    )
                )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('testapp_category', 'id'), (SELECT max(id) FROM testapp_category))"
        )
        cursor.execute("CREATE UNLOGGED TABLE IF NOT EXISTS scale_item (idx int PRIMARY KEY, id uuid)")
        cursor.execute("TRUNCATE scale_item")
        with raw.copy("COPY scale_item (idx, id) FROM STDIN") as copy:
            for i, pid in enumerate(ids):
                copy.write_row((i, pid))
    return ids, leaf_of


def make_events(n_events: int, n_visitors: int, leaf_of: np.ndarray, rng: np.random.Generator, chunk: int):
    """Yield (visitor, item, kind, age seconds) arrays ``chunk`` events at a time."""
    n_items = len(leaf_of)
    n_leaves = int(leaf_of.max()) + 1
    order = np.argsort(leaf_of, kind="stable")
    starts = np.searchsorted(leaf_of[order], np.arange(n_leaves))
    ends = np.searchsorted(leaf_of[order], np.arange(n_leaves), side="right")
    popularity = zipf(n_items)
    rng.shuffle(popularity)
    favourite = rng.integers(0, n_leaves, (n_visitors, 2))
    activity = rng.pareto(1.5, n_visitors) + 1.0
    activity /= activity.sum()
    done = 0
    while done < n_events:
        n = min(chunk, n_events - done)
        visitors = rng.choice(n_visitors, n, p=activity)
        leaf = favourite[visitors, (rng.random(n) < 0.35).astype(np.int64)]
        size = ends[leaf] - starts[leaf]
        # Zipf-ish rank inside the leaf: floor(size ** u) - 1 for uniform u favours the first items
        rank = np.minimum(
            (np.power(np.maximum(size, 1), rng.random(n)) - 1).astype(np.int64), np.maximum(size - 1, 0)
        )
        in_leaf = order[np.minimum(starts[leaf] + rank, n_items - 1)]
        anywhere = rng.choice(n_items, n, p=popularity)
        items = np.where(rng.random(n) < 0.8, in_leaf, anywhere)
        kinds = rng.choice(len(KINDS), n, p=KIND_P)
        ages = rng.uniform(60.0, 90 * DAY, n)
        yield visitors, items, kinds, ages
        done += n


PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags 0, no extension
PGCOPY_TRAILER = b"\xff\xff"
#: one staging row in PostgreSQL's binary COPY format: field count, then (length, value) per field
STAGE_ROW = np.dtype(
    [
        ("fields", ">i2"), ("n_len", ">i4"), ("n", ">i8"), ("v_len", ">i4"), ("v", ">i4"),
        ("p_len", ">i4"), ("p", ">i4"), ("k_len", ">i4"), ("k", ">i2"), ("age_len", ">i4"), ("age", ">f8"),
    ]
)  # fmt: skip


def stage_rows(first: int, visitors, items, kinds, ages) -> bytes:
    """The staging rows of one generated chunk as binary COPY data (no per-row Python)."""
    rows = np.empty(len(items), dtype=STAGE_ROW)
    rows["fields"] = 5
    for name, size in (("n", 8), ("v", 4), ("p", 4), ("k", 2), ("age", 8)):
        rows[f"{name}_len"] = size
    rows["n"] = np.arange(first, first + len(items))
    rows["v"], rows["p"], rows["k"], rows["age"] = visitors, items, kinds, ages.round(1)
    return rows.tobytes()


def secondary_indexes(cursor) -> tuple[list[str], list[tuple[str, str]]]:
    """The event table's indexes besides its primary key: plain ones (CREATE INDEX statements)
    and unique constraints (name, definition)."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'recommendations_event'::regclass AND contype = 'u'"
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexdef FROM pg_indexes i WHERE i.tablename = 'recommendations_event'"
        " AND i.indexname NOT IN (SELECT conname FROM pg_constraint"
        " WHERE conrelid = 'recommendations_event'::regclass)"
    )
    return [row[0] for row in cursor.fetchall()], constraints


def bulk_load(
    n_events: int, n_visitors: int, leaf_of: np.ndarray, rng: np.random.Generator, seed: int
) -> dict:
    """Seed the history: binary COPY of the generated events into an unlogged staging table, then
    one ``INSERT ... SELECT`` into the event table while its secondary indexes and unique
    constraint are dropped, then those rebuilt and the table vacuumed and analysed (what a
    migration from another tool would do; the app's own write path is measured by app_ingest)."""
    from django.db import connection

    timings = {"generate": 0.0, "copy": 0.0, "insert": 0.0, "indexes": 0.0, "vacuum": 0.0}
    with connection.cursor() as cursor:
        raw = cursor.cursor
        cursor.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS scale_stage (n bigint, v int, p int, k smallint, age double precision)"
        )
        cursor.execute("TRUNCATE scale_stage")
        counter = 0
        with raw.copy("COPY scale_stage (n, v, p, k, age) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(PGCOPY_HEADER)
            for visitors, items, kinds, ages in make_events(n_events, n_visitors, leaf_of, rng, 1_000_000):
                t0 = time.perf_counter()
                data = stage_rows(counter, visitors, items, kinds, ages)
                counter += len(items)
                t1 = time.perf_counter()
                copy.write(data)
                timings["generate"] += t1 - t0
                timings["copy"] += time.perf_counter() - t1
            t1 = time.perf_counter()
            copy.write(PGCOPY_TRAILER)
        timings["copy"] += time.perf_counter() - t1
        indexes, constraints = secondary_indexes(cursor)
        t0 = time.perf_counter()
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE recommendations_event DROP CONSTRAINT "{name}"')
        for statement in indexes:
            name = statement.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            cursor.execute(f"DROP INDEX {name}")
        kinds_sql = "(ARRAY[" + ",".join(f"'{k}'" for k in KINDS) + "])"
        cursor.execute(
            f"""
            INSERT INTO recommendations_event
              (event_id, kind, created_at, visitor_id, product_id, query, order_id, slot, token, source,
               ip, device, context, quantity, unit_price)
            SELECT md5('{seed}e' || s.n)::uuid, {kinds_sql}[s.k + 1], now() - make_interval(secs => s.age),
                   md5('{seed}v' || s.v)::uuid, i.id, '',
                   CASE WHEN s.k = 2 THEN 'o' || s.v || '-' || floor(s.age / 86400)::int ELSE '' END,
                   '', '', 'import', '', '', '{{}}'::jsonb,
                   CASE WHEN s.k IN (1, 2) THEN 1 END, CASE WHEN s.k = 2 THEN 10.00 END
            FROM scale_stage s JOIN scale_item i ON i.idx = s.p
            """
        )
        timings["insert"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for statement in indexes:
            cursor.execute(statement)
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE recommendations_event ADD CONSTRAINT "{name}" {definition}')
        timings["indexes"] = time.perf_counter() - t0
        timings["n_indexes"] = len(indexes) + len(constraints)
        cursor.execute("TRUNCATE scale_stage")
    t0 = time.perf_counter()
    with connection.cursor() as cursor:  # outside a transaction block (autocommit)
        cursor.execute("VACUUM (ANALYZE) recommendations_event")
    timings["vacuum"] = time.perf_counter() - t0
    return timings


def visitor_uuid(seed: int, v: int) -> uuid.UUID:
    import hashlib

    return uuid.UUID(hashlib.md5(f"{seed}v{v}".encode()).hexdigest())  # as md5(...)::uuid in SQL


def app_ingest(ids: list[str], n_visitors: int, rng: np.random.Generator, seed: int, n: int) -> float:
    """events/s through build_rows + insert_rows (the drain's database write), 500 per call."""
    from django.utils import timezone

    from recommendations.ingest.database import insert_rows
    from recommendations.models import Event
    from recommendations.schema import EventIn
    from recommendations.tracking.recorder import build_rows

    now = timezone.now()
    events = [
        EventIn(
            kind="view",
            product_id=ids[int(rng.integers(len(ids)))],
            visitor_id=visitor_uuid(seed, int(rng.integers(n_visitors))),
            created_at=now,
        )
        for _ in range(n)
    ]
    last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    start = time.perf_counter()
    for at in range(0, n, 500):
        insert_rows(build_rows(events[at : at + 500], source=Event.Source.IMPORT))
    rate = n / (time.perf_counter() - start)
    Event.objects.filter(id__gt=last).delete()  # the table holds the seeded history only
    return rate


def seeded_as(name: str, seed: int) -> dict | None:
    """What the run that seeded this database recorded, when it seeded this size and seed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS scale_meta (size text, seed int, result jsonb)")
        cursor.execute("SELECT result FROM scale_meta WHERE size = %s AND seed = %s", [name, seed])
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def forget_seed() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS scale_meta")


def remember_seed(name: str, seed: int, result: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS scale_meta (size text, seed int, result jsonb)")
        cursor.execute("TRUNCATE scale_meta")
        cursor.execute("INSERT INTO scale_meta VALUES (%s, %s, %s)", [name, seed, json.dumps(result)])


def catalogue_ids() -> tuple[list[str], None]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id::text FROM scale_item ORDER BY idx")
        return [row[0] for row in cursor.fetchall()], None


def table_sizes() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size('recommendations_event'), pg_indexes_size('recommendations_event'),"
            " pg_total_relation_size('recommendations_event'), (SELECT count(*) FROM recommendations_event)"
        )
        heap, indexes, total, rows = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
            " WHERE x.indrelid = 'recommendations_event'::regclass ORDER BY 2 DESC"
        )
        per_index = dict(cursor.fetchall())
    return {"heap": heap, "indexes": indexes, "total": total, "rows": rows, "per_index": per_index}


def rebuild(steps: Steps) -> int:
    """The pipeline's three steps in process, each model's fit measured on its own."""
    from recommendations import modelstore as storage
    from recommendations.training import parts, pipeline

    original_timed, original_matrix = parts.timed, pipeline.build_matrix
    original_users, original_save = parts.users_part, storage.save_part

    def timed(name, metrics, build, *args):
        return original_timed(name, metrics, lambda *a: steps.run(name, build, *a), *args)

    parts.timed = timed
    pipeline.build_matrix = lambda *a, **k: steps.run("matrix", original_matrix, *a, **k)
    parts.users_part = lambda *a: steps.run("users", original_users, *a)
    storage.save_part = lambda *a: steps.run("store", original_save, *a)
    try:
        plan = pipeline.start_rebuild()
        for start, stop in plan.chunks:
            steps.run("itemknn", pipeline.build_chunk, plan.version_id, start, stop)
        steps.run("finish", pipeline.finish_rebuild, plan.version_id, len(plan.chunks))
    finally:
        parts.timed, pipeline.build_matrix = original_timed, original_matrix
        parts.users_part, storage.save_part = original_users, original_save
    return plan.version_id


def redis_per_visitor(ids: list[str], rng: np.random.Generator) -> tuple[dict, list[uuid.UUID]]:
    from recommendations import runtime
    from recommendations.connections import redis_client
    from recommendations.models import Event
    from recommendations.schema import EventIn
    from recommendations.tracking.recorder import build_rows

    client = redis_client()
    store = runtime.live_store()
    before = int(client.info("memory")["used_memory"])
    visitors = [uuid.uuid4() for _ in range(LIVE_VISITORS)]
    popular = rng.choice(len(ids), 2_000, replace=False)
    for visitor in visitors:
        events = [
            EventIn(kind="view", product_id=ids[int(p)], visitor_id=visitor)
            for p in rng.choice(popular, LIVE_EVENTS)
        ]
        store.apply(build_rows(events, source=Event.Source.IMPORT))
    after = int(client.info("memory")["used_memory"])
    prefix = store.prefix if hasattr(store, "prefix") else "recscale:"
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    visitor_keys = [key for key in keys if str(visitors[0]) in key.decode(errors="ignore")]
    sample = [key for key in keys if any(str(v) in key.decode(errors="ignore") for v in visitors[:50])]
    usage = [int(client.memory_usage(key) or 0) for key in sample]
    return {
        "used_memory_delta_per_visitor": (after - before) / LIVE_VISITORS,
        "keys_per_visitor": len(visitor_keys),
        "visitor_key_bytes": float(np.sum(usage) / 50) if usage else 0.0,
        "keys_total": len(keys),
    }, visitors


def latency(subjects: list) -> dict:
    from recommendations.serving import recommend

    for subject in subjects[:20]:
        recommend(subject, "for_you", limit=10)
    samples = []
    for n in range(LATENCY_CALLS):
        subject = subjects[n % len(subjects)]
        start = time.perf_counter()
        recommend(subject, "for_you", limit=10)
        samples.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(samples, 50)), "p99_ms": float(np.percentile(samples, 99))}


def run_one(name: str, seed: int, reuse: bool = False, seed_only: bool = False) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.scale_settings")
    django.setup()
    from django.core.management import call_command

    from recommendations import runtime
    from recommendations.models import ActiveModel, ModelPart, ModelQuality, ModelVersion
    from recommendations.serving import bundle as bundles
    from recommendations.subjects import Subject

    n_events, n_products, n_visitors = SIZES[name]
    rng = np.random.default_rng(seed)
    result: dict = {"size": name, "events": n_events, "products": n_products, "visitors": n_visitors}
    call_command("migrate", verbosity=0)
    runtime.live_store().clear()
    seeded = seeded_as(name, seed) if reuse else None
    if seeded is not None:  # the same shop, seeded by an earlier run: its seeding numbers stand
        ids, _ = catalogue_ids()
        for key in ("catalogue_seconds", "bulk", "app_ingest_events_per_s", "table"):
            result[key] = seeded[key]
        result["reused_seed"] = True
        # a first rebuild, as on a fresh seed: no live version whose choice the search goes on from
        ModelQuality.objects.all().delete()
        ActiveModel.objects.all().delete()
        ModelPart.objects.all().delete()
        ModelVersion.objects.all().delete()
        rng = np.random.default_rng([seed, 1])
    else:
        forget_seed()
        call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        ids, leaf_of = make_catalogue(n_products, rng)
        result["catalogue_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        load = bulk_load(n_events, n_visitors, leaf_of, rng, seed)
        seconds = time.perf_counter() - started
        result["bulk"] = {**load, "seconds": seconds, "events_per_s": n_events / max(seconds, 1e-9)}
        result["app_ingest_events_per_s"] = app_ingest(ids, n_visitors, rng, seed, INGEST_SAMPLE)
        result["table"] = table_sizes()
        remember_seed(name, seed, result)
    if seed_only:
        return result
    steps = Steps()
    rss_before = rss("VmRSS")
    rss_peak_reset()
    load_before, cpu = os.getloadavg()[0], time.process_time()
    start = time.perf_counter()
    version, error = None, None
    try:
        version = rebuild(steps)
    except Exception as exc:  # measured up to where it failed, and said so
        error = f"{type(exc).__name__}: {exc}"
    result["rebuild"] = {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,  # this process's threads (not PostgreSQL's)
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "rss_before": rss_before,
        "steps": steps.seconds,
        "peak": steps.peak,
        "peak_max": max(steps.peak.values()),
        "error": error,
    }
    if version is None:
        result["failed"] = error
        return result
    metrics = ModelVersion.objects.get(pk=version).metrics
    selection = metrics.get("selection") or {}
    result["rebuild"]["selection"] = {
        key: selection.get(key) for key in ("held_out_share", "sample", "reused_fits", "seconds", "evaluated")
    }
    result["rebuild"]["als_from"] = metrics.get("als_from")
    result["artifacts"] = dict(ModelPart.objects.filter(version_id=version).values_list("name", "size_bytes"))
    bundles.clear()
    start = time.perf_counter()
    bundles.load(version)
    result["load_seconds"] = time.perf_counter() - start
    bundles.clear()
    redis, live = redis_per_visitor(ids, rng)
    result["redis"] = redis
    result["latency_live"] = latency([Subject(None, v) for v in live])
    trained = [Subject(None, visitor_uuid(seed, int(v))) for v in rng.integers(0, n_visitors // 10, 300)]
    result["latency_trained"] = latency(trained)
    runtime.live_store().clear()
    return result


# --- report --------------------------------------------------------------------------------------


def slope(xs: list[float], ys: list[float]) -> float | None:
    pairs = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pairs) < 2:
        return None
    lx, ly = np.array(pairs).T
    return float(np.polyfit(lx, ly, 1)[0])


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def report(results: list[dict], command: str) -> str:
    results = sorted(results, key=lambda r: r["events"])
    head = "| | " + " | ".join(
        f"{r['events']:,} events / {r['products']:,} products / {r['visitors']:,} visitors" for r in results
    )
    sep = "| --- " * (len(results) + 1) + "| --- |"
    events = [r["events"] for r in results]
    lines = [head + " | growth exponent (vs events) |", sep]

    def row(label, values, fmt, exponent_of=None):
        # a size whose rebuild failed has no value past the failure: "n/a", left out of the fit
        exponent = None
        if exponent_of:
            known = [(x, y) for x, y in zip(*exponent_of, strict=True) if y is not None]
            exponent = slope([x for x, _ in known], [y for _, y in known])
        shown = "" if exponent is None else f"{exponent:.2f}"
        cells = ("n/a" if v is None else fmt(v) for v in values)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {shown} |")

    def done(r, key, *path):
        value = r.get(key)
        for step in path:
            value = None if value is None else value.get(step)
        return value

    ingest = [r["app_ingest_events_per_s"] for r in results]
    row(
        "ingest, app path (build_rows + insert_rows, 500 a call) into the seeded table, events/s",
        ingest,
        lambda v: f"{v:,.0f}",
        (events, ingest),
    )
    bulk = [r["bulk"]["events_per_s"] for r in results]
    row(
        "seeding, events/s over all of it: binary COPY into a staging table, one INSERT ... SELECT"
        " into the event table with its secondary indexes and unique constraint dropped, their"
        " rebuild, VACUUM ANALYZE",
        bulk,
        lambda v: f"{v:,.0f}",
        (events, bulk),
    )
    for key, label in (
        ("generate", "generating the events (numpy)"),
        ("copy", "COPY into the staging table"),
        ("insert", "INSERT ... SELECT into the event table"),
        ("indexes", "rebuilding the indexes and the unique constraint"),
        ("vacuum", "VACUUM ANALYZE"),
    ):
        values = [r["bulk"].get(key, 0.0) for r in results]
        row(f"&nbsp; {label}, s", values, lambda v: f"{v:,.1f}", (events, values))
    heap = [r["table"]["heap"] for r in results]
    row("event table heap", heap, mib, (events, heap))
    idx = [r["table"]["indexes"] for r in results]
    row("event table indexes (9)", idx, mib, (events, idx))
    total = [None if r.get("failed") else r["rebuild"]["seconds"] for r in results]
    row("**full rebuild**, s", total, lambda v: f"**{v:,.1f}**", (events, total))
    row(
        "&nbsp; rebuild failed after, s (error)",
        [r["rebuild"]["seconds"] if r.get("failed") else None for r in results],
        lambda v: f"{v:,.1f}",
    )
    cpu = [r["rebuild"].get("cpu_seconds") for r in results]
    row("&nbsp; CPU s of the rebuild process (its threads; not PostgreSQL's)", cpu, lambda v: f"{v:,.1f}")
    loads = [r["rebuild"].get("load_before") for r in results]
    row("&nbsp; 1-min load average before the rebuild", loads, lambda v: f"{v:.1f}")
    loads = [r["rebuild"].get("load_after") for r in results]
    row("&nbsp; 1-min load average after the rebuild", loads, lambda v: f"{v:.1f}")
    names = list(dict.fromkeys(n for r in results for n in r["rebuild"]["steps"]))
    for name in names:
        values = [r["rebuild"]["steps"].get(name, 0.0) for r in results]
        row(f"&nbsp; {name}, s", values, lambda v: f"{v:,.2f}", (events, values))
    rest = [r["rebuild"]["seconds"] - sum(r["rebuild"]["steps"].values()) for r in results]
    row(
        "&nbsp; between the steps above (shopper arrays of the users part, interaction counts, ...), s",
        rest,
        lambda v: f"{v:,.2f}",
    )
    peak = [r["rebuild"]["peak_max"] for r in results]
    row("rebuild peak RSS (whole process)", peak, mib, (events, peak))
    for name in names:
        values = [r["rebuild"]["peak"].get(name, 0) for r in results]
        row(f"&nbsp; peak RSS during {name}", values, mib)
    art = [sum(r["artifacts"].values()) if "artifacts" in r else None for r in results]
    row("model artifacts, total", art, mib, (events, art))
    for part in sorted({p for r in results for p in r.get("artifacts", {})}):
        values = [r["artifacts"].get(part, 0) if "artifacts" in r else None for r in results]
        row(f"&nbsp; {part}", values, mib)
    load = [r.get("load_seconds") for r in results]
    row("worker load of the model bundle, s", load, lambda v: f"{v:,.2f}", (events, load))
    redis = [done(r, "redis", "used_memory_delta_per_visitor") for r in results]
    row(
        f"Redis bytes per live visitor ({LIVE_EVENTS} events; used_memory delta)",
        redis,
        lambda v: f"{v:,.0f}",
    )
    keyb = [done(r, "redis", "visitor_key_bytes") for r in results]
    row("Redis bytes of a visitor's own keys (MEMORY USAGE)", keyb, lambda v: f"{v:,.0f}")
    products = [r["products"] for r in results]
    for kind in ("live", "trained"):
        p50 = [done(r, f"latency_{kind}", "p50_ms") for r in results]
        p99 = [done(r, f"latency_{kind}", "p99_ms") for r in results]
        row(
            f"for-you p50 ms, {kind} visitors (exponent vs products)",
            p50,
            lambda v: f"{v:.2f}",
            (products, p50),
        )
        row(
            f"for-you p99 ms, {kind} visitors (exponent vs products)",
            p99,
            lambda v: f"{v:.2f}",
            (products, p99),
        )
    meta = " ".join(f"{r['size']}: {r.get('machine', '')}" for r in results)
    failures = [f"{r['size']} failed: {r['failed']}" for r in results if r.get("failed")]
    return "\n".join([f"Command: `{command}`. {meta}", "", *lines, "", *failures])


def svg(results: list[dict]) -> str:
    """Log-log chart: rebuild time of each step and in total against events."""
    results = sorted(results, key=lambda r: r["events"])
    events = [r["events"] for r in results if not r.get("failed")]
    names = ["total", *list(dict.fromkeys(n for r in results for n in r["rebuild"]["steps"]))]
    series = {
        name: [
            r["rebuild"]["seconds"] if name == "total" else r["rebuild"]["steps"].get(name, 0.0)
            for r in results
            if not r.get("failed")
        ]
        for name in names
    }
    series = {k: v for k, v in series.items() if max(v) >= 0.5}  # what matters on the chart
    width, height, left, bottom, top, right = 760, 440, 70, 50, 20, 180
    ymin = 10 ** math.floor(math.log10(max(min(min(v) for v in series.values()), 0.01)))
    ymax = 10 ** math.ceil(math.log10(max(max(v) for v in series.values())))
    xmin, xmax = 10 ** math.floor(math.log10(min(events))), 10 ** math.ceil(math.log10(max(events)))

    def x(v):
        return left + (math.log10(v) - math.log10(xmin)) / (math.log10(xmax) - math.log10(xmin)) * (
            width - left - right
        )

    def y(v):
        v = max(v, ymin)
        return (
            height
            - bottom
            - (math.log10(v) - math.log10(ymin))
            / (math.log10(ymax) - math.log10(ymin))
            * (height - bottom - top)
        )

    colours = [
        "#000",
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    ]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    decade = xmin
    while decade <= xmax:
        out.append(
            f'<line x1="{x(decade):.1f}" y1="{top}" x2="{x(decade):.1f}" y2="{height - bottom}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{x(decade):.1f}" y="{height - bottom + 16}" text-anchor="middle">{decade:,.0f}</text>'
        )
        decade *= 10
    decade = ymin
    while decade <= ymax:
        out.append(
            f'<line x1="{left}" y1="{y(decade):.1f}" x2="{width - right}" y2="{y(decade):.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{left - 6}" y="{y(decade) + 4:.1f}" text-anchor="end">{decade:g} s</text>')
        decade *= 10
    out.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">events (log)</text>'
    )
    out.append(f'<text x="{left}" y="{top - 6}">full rebuild time by step (log-log; slope 1 = linear)</text>')
    for n, (name, values) in enumerate(series.items()):
        colour = colours[n % len(colours)]
        points = " ".join(f"{x(e):.1f},{y(v):.1f}" for e, v in zip(events, values, strict=True))
        width_line = 3 if name == "total" else 1.5
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="{width_line}"/>')
        for e, v in zip(events, values, strict=True):
            out.append(f'<circle cx="{x(e):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
        exponent = slope(events, values)
        label = name if exponent is None else f"{name} (exp {exponent:.2f})"
        out.append(f'<text x="{width - right + 10}" y="{top + 16 + 16 * n}" fill="{colour}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_docs(section: str) -> None:
    """Replace the generated part of docs/benchmarks.md's "## Scale": from its heading to its
    first subsection (``### ...``, written by hand or by another benchmark) or the next section;
    everything after that is kept as it is."""
    path = ROOT / "docs" / "benchmarks.md"
    path.write_text(replace_generated(path.read_text(), section))


def replace_generated(text: str, section: str) -> str:
    block = "## Scale\n\n" + section.rstrip("\n") + "\n"
    start = text.find("\n## Scale\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + block
    body = start + len("\n## Scale\n")
    ends = [i for i in (text.find("\n### ", body), text.find("\n## ", body)) if i >= 0]
    end = min(ends) if ends else len(text)
    return text[: start + 1] + block + text[end:]


def machine() -> str:
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    return (
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {date}, "
        f"load average at the end {os.getloadavg()[0]:.1f}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,3m,10m")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--report-only", action="store_true", help="re-read bench/out/scale-*.json")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--reuse-seed",
        action="store_true",
        help="rebuild on the shop an earlier run seeded (same size and seed) instead of seeding it again",
    )
    parser.add_argument("--seed-only", action="store_true", help="seed the shop, measure nothing else")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.one:
        result = run_one(args.one, args.seed, args.reuse_seed, args.seed_only)
        result["machine"] = machine()
        if args.seed_only:
            print(json.dumps(result, indent=1))
            return
        (OUT / f"scale-{args.one}.json").write_text(json.dumps(result, indent=1))
        print(json.dumps({k: v for k, v in result.items() if k != "table"}, indent=1))
        return
    names = [s for s in args.sizes.split(",") if s]
    for name in names if not args.report_only else []:
        print(f"# size {name}: {SIZES[name]}", flush=True)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.scale_settings", "OPENBLAS_NUM_THREADS": "1"}
        subprocess.run(
            [sys.executable, __file__, "--one", name, "--seed", str(args.seed)]
            + (["--reuse-seed"] if args.reuse_seed else [])
            + (["--seed-only"] if args.seed_only else []),
            check=True,
            env=env,
        )
    if args.seed_only:
        return
    results = [json.loads((OUT / f"scale-{n}.json").read_text()) for n in names]
    env = " ".join(
        f"{k}={os.environ[k]}" for k in ("SCALE_DATABASE_URL", "SCALE_REDIS_URL") if k in os.environ
    )
    section = report(
        results, f"{env} nice -n {os.nice(0)} .venv/bin/python bench/scale.py --sizes {args.sizes}"
    )
    print(section)
    if args.write_docs:
        (ROOT / "docs" / "scale.svg").write_text(svg(results))
        write_docs(section + "\n\n![rebuild time by step against events](scale.svg)\n")


if __name__ == "__main__":
    main()
