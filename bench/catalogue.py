"""for-you against catalogue size (issue 13): the same visitors and history over a small and a big
catalogue, measured through gunicorn (cached reads and misses) and in process (the serving core).

    BENCH_SERVING_DATABASE_URL=postgres://postgres@127.0.0.1:5432/rec_bench_catalogue \\
    REDIS_URL=redis://127.0.0.1:6379/5 \\
    nice -n 19 .venv/bin/python bench/catalogue.py --products 20000,1000000 --port 8765 [--write-docs]

Each catalogue size is seeded and rebuilt in a fresh child process (its peak memory is its own),
one after the other, into a database and Redis key prefix of its own (``bench/catalogue_settings.py``:
BENCH_SERVING_DATABASE_URL's name + ``_<products>``, prefix ``reccat<products>:``). Per size:

* **seed** (bench/serving_seed.py's catalogue and history): ``products`` items in 30 leaf
  categories, then the same ``visitors`` with the same sessions (the history has its own random
  stream, so visitors, leaves, session lengths and event kinds are identical across sizes; only
  which product of a leaf is drawn differs, the leaves being bigger), imported with
  ``import_events`` (database + live state in Redis);
* **rebuild** (``training.pipeline`` in process, bench/scale.py's ``rebuild``): wall time and peak
  resident memory per step (the kernel's high-water mark, reset before each step);
* **miss path in process**: the model bundle's load time and the process RSS with it loaded, then
  ``recommend(subject, "for_you")`` (the serving core, never cached) for the load visitors, warm:
  median and p99 wall and CPU time.

Then **HTTP**, all sizes side by side: one gunicorn per size (docs/gunicorn.conf.py, 2 gthread
workers x 4 threads, ports ``--port``, ``--port`` + 1, ...), every load visitor's for-you read once
(fills the Redis slot hash and each worker's near cache), then for-you and the floor (a trivial DRF
GET) of every size in turn, ``--rounds`` alternating rounds, saturated and paced at ``--rate``
requests/s in total (the same rate for every size; latency counted from the scheduled send), with
bench/loadgen.py on loopback. Then the same with the slot cache off (``RECOMMENDATIONS_SLOT_CACHE =
False``, paced at ``--miss-rate``): every read a miss, as after an event or a model swap.

The parent prints the table and the ratios (biggest size / smallest) and with ``--write-docs``
replaces the "### for-you against catalogue size" subsection of "## Scale" in docs/benchmarks.md.
Raw results: bench/out/catalogue-<products>.json and catalogue-http.json (``--report-only``
re-reads them; ``--skip-seed`` reruns only the HTTP part on the seeded databases).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from bench import ingest, scale, serving  # noqa: E402 - serving sets DJANGO_SETTINGS_MODULE
from bench.loadgen import LoadResult, run_load  # noqa: E402

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.catalogue_settings"  # inherited by gunicorn
TARGET_P99_RATIO = 1.2
HEADING = "### for-you against catalogue size"


def seed(args, steps: scale.Steps) -> dict:
    """bench/serving_seed.py's ``seed`` with the history on its own random stream, timed per step."""
    from bench import serving_seed
    from recommendations.tracking.bulk import import_events

    serving_seed.reset()
    by_leaf, root_of_leaf = steps.run(
        "seed catalogue", serving_seed._catalogue, args.one, np.random.default_rng(7)
    )
    shop = serving_seed.Shop(leaf_of={}, root_of_leaf=root_of_leaf, popular_in_leaf={}, visitors=[])
    history = serving_seed._history(shop, by_leaf, args.visitors, np.random.default_rng(8))
    events = steps.run("seed history", import_events, history, batch_size=serving_seed.IMPORT_BATCH)
    return {"shop": shop, "events": events}


def miss_path(visitors, calls: int) -> dict:
    """The serving core for ``visitors``' for-you, in process, warm: wall and CPU ms per call."""
    from recommendations.serving import recommend
    from recommendations.subjects import Subject

    subjects = [Subject(None, v) for v in visitors]
    for subject in subjects[:20]:
        recommend(subject, "for_you")
    wall, cpu, lengths = [], [], []
    for n in range(calls):
        subject = subjects[n % len(subjects)]
        w, c = time.perf_counter(), time.thread_time()
        recs = recommend(subject, "for_you")
        cpu.append((time.thread_time() - c) * 1e3)
        wall.append((time.perf_counter() - w) * 1e3)
        lengths.append(len(recs))
    return {
        "calls": calls,
        "p50_ms": float(np.percentile(wall, 50)),
        "p99_ms": float(np.percentile(wall, 99)),
        "cpu_p50_ms": float(np.percentile(cpu, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
        "mean_items": float(np.mean(lengths)),
    }


def start_server(
    args, products: int, port: int, log: Path, slot_cache: bool
) -> tuple[subprocess.Popen, float]:
    """bench/serving.py's gunicorn command (docs/gunicorn.conf.py) on the database of ``products``,
    ``--timeout`` added: a worker loads the model bundle in ``post_worker_init`` before its first
    heartbeat, and gunicorn kills a worker silent for longer than its timeout (30 s by default)."""
    command = [sys.executable, "-m", "gunicorn", "bench.wsgi:application", "--bind", f"{ingest.HOST}:{port}"]
    command += ["--config", str(ROOT / "docs" / "gunicorn.conf.py"), "--timeout", str(args.timeout)]
    command += ["--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads)]
    command += ["--keep-alive", "30", "--log-level", "warning"]
    env = {
        **os.environ,
        "RECOMMENDATIONS_GUNICORN_GC_FREEZE": "0",
        "CATALOGUE_PRODUCTS": str(products),
        "CATALOGUE_SLOT_CACHE": "1" if slot_cache else "0",
    }
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{ingest.HOST}:{port}/ping/", timeout=1) as response:
                if response.status == 200:
                    return process, time.perf_counter() - started
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.terminate()
            raise RuntimeError(f"gunicorn did not start; see {log}")
        time.sleep(0.2)


def summary(result: LoadResult) -> dict:
    return {
        "rate": result.rate,
        "requests": result.requests,
        "errors": result.errors,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "p50_ms": result.percentile(0.5) * 1e3,
        "p90_ms": result.percentile(0.9) * 1e3,
        "p99_ms": result.percentile(0.99) * 1e3,
    }


def alternate(phases: dict, seconds: float, rounds: int, interval: float | None) -> dict[str, LoadResult]:
    """bench/serving.py's ``compare`` over several servers: every (size, endpoint) in turn,
    ``rounds`` times, so drift in the machine's load hits every size alike."""
    results: dict[str, LoadResult] = {}
    for _ in range(rounds):
        for name, (port, requests) in phases.items():
            result = run_load(
                ingest.HOST,
                port,
                requests,
                seconds=seconds / rounds,
                max_requests=1_000_000,
                interval=interval,
            )
            if result.errors:
                print(f"  ! {name}: {result.errors} errors, statuses {result.statuses}", file=sys.stderr)
            results[name] = serving.merge(results.get(name), result)
    return results


def http(args, sizes: list[int], visitors: list, slot_cache: bool, logs: Path) -> dict:
    """One server per size side by side; each warmed (every load visitor read once), then
    for-you and the floor of every size alternating, saturated and paced."""
    mode = "cached" if slot_cache else "uncached"
    rate = args.rate if slot_cache else args.miss_rate
    n = args.connections
    servers, out = [], {}
    try:
        phases = {}
        for k, products in enumerate(sizes):
            port = args.port + k
            print(f"  {mode}: starting the {products:,}-product server...", file=sys.stderr, flush=True)
            server, up = start_server(
                args, products, port, logs / f"gunicorn-{products}-{mode}.log", slot_cache
            )
            servers.append(server)
            for_you = serving.get_requests(port, serving.FOR_YOU, visitors, n)
            floor = serving.get_requests(port, serving.FLOOR, visitors, n)
            started = time.perf_counter()
            run_load(ingest.HOST, port, for_you, seconds=600.0, max_requests=len(visitors))
            first = time.perf_counter() - started
            run_load(ingest.HOST, port, for_you, seconds=2.0, max_requests=4000)
            run_load(ingest.HOST, port, floor, seconds=60.0, max_requests=len(visitors))
            out[str(products)] = {"server_up_seconds": up, "first_reads_seconds": first}
            phases[f"{products}/for_you"] = (port, for_you)
            phases[f"{products}/floor"] = (port, floor)
        print(f"  {mode}: saturated...", file=sys.stderr, flush=True)
        saturated = alternate(phases, args.seconds * len(sizes), args.rounds, None)
        print(f"  {mode}: paced at {rate:.0f} req/s...", file=sys.stderr, flush=True)
        paced = alternate(phases, args.seconds * len(sizes), args.rounds, n / rate)
    finally:
        for server in servers:
            serving.stop_server(server)
    for products in sizes:
        for endpoint in ("for_you", "floor"):
            out[str(products)].setdefault("saturated", {})[endpoint] = summary(
                saturated[f"{products}/{endpoint}"]
            )
            out[str(products)].setdefault("paced", {})[endpoint] = summary(paced[f"{products}/{endpoint}"])
    return {"rate": rate, "sizes": out}


def run_one(args) -> dict:
    """Seed, rebuild and the in-process miss path of one size (in a child process of its own)."""
    import django

    django.setup()
    ingest.ensure_database()
    django.db.connections.close_all()
    from recommendations.models import ModelPart
    from recommendations.serving import bundle as bundles

    result: dict = {"products": args.one, "visitors": args.visitors, "load": {}}
    result["load"]["start"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    result["date_start"] = date_utc()
    steps = scale.Steps()
    print(f"# {args.one:,} products: seeding...", file=sys.stderr, flush=True)
    seeded = seed(args, steps)
    shop = seeded["shop"]
    result["events"] = seeded["events"]
    result["seed"] = {"seconds": steps.seconds, "peak": steps.peak}
    print(f"  {seeded['events']:,} events in {steps.seconds}; rebuilding...", file=sys.stderr, flush=True)
    rebuild_steps = scale.Steps()
    from recommendations import modelstore

    original_save = modelstore.save_part

    def save_part(version_id, name, arrays):  # which part is how big: PostgreSQL caps a value at 1 GB
        size = sum(np.asarray(a).nbytes for a in arrays.values())
        result.setdefault("part_array_bytes", {})[name] = size
        print(f"  storing {name}: {size / 2**20:,.0f} MiB of arrays", file=sys.stderr, flush=True)
        return original_save(version_id, name, arrays)

    modelstore.save_part = save_part
    scale.rss_peak_reset()
    started = time.perf_counter()
    try:
        version = scale.rebuild(rebuild_steps)
    finally:  # a step that blows up still leaves the others' numbers
        result["rebuild"] = {
            "seconds": time.perf_counter() - started,
            "steps": rebuild_steps.seconds,
            "peak": rebuild_steps.peak,
            "peak_max": max(rebuild_steps.peak.values(), default=0),
        }
        (OUT / f"catalogue-{args.one}.partial.json").write_text(json.dumps(result, indent=1))
    result["artifacts"] = dict(ModelPart.objects.filter(version_id=version).values_list("name", "size_bytes"))
    print(f"  rebuilt in {result['rebuild']['seconds']:.1f} s; miss path...", file=sys.stderr, flush=True)
    bundles.clear()
    started = time.perf_counter()
    bundles.current()
    result["bundle_load_seconds"] = time.perf_counter() - started
    result["rss_with_bundle"] = scale.rss("VmRSS")
    load_visitors = shop.visitors[: args.load_visitors]
    result["load_visitors"] = [str(v) for v in load_visitors]
    result["miss"] = miss_path(load_visitors, args.miss_calls)
    result["load"]["end"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    result["maxrss_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["date_end"] = date_utc()
    result["commit"] = serving.source_commit()
    return result


def date_utc() -> str:
    return subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()


# --- report --------------------------------------------------------------------------------------


def report(results: list[dict], web: dict, command: str) -> str:
    small, big = results[0], results[-1]
    head = "| | " + " | ".join(f"{r['products']:,} products" for r in results) + " | ratio |"
    lines = [head, "| --- |" + " --- |" * (len(results) + 1)]

    def row(label: str, values: list[float], fmt: str = "{:,.1f}", bold: bool = False) -> None:
        cells = [fmt.format(v) for v in values]
        ratio = f"{values[-1] / values[0]:.2f}x" if values[0] else ""
        if bold:
            cells, ratio = [f"**{c}**" for c in cells], f"**{ratio}**"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")

    titles = {"cached": "slot cache on (cached reads)", "uncached": "slot cache off (every read a miss)"}
    for mode, title in titles.items():
        if mode not in web:
            continue
        sizes = [web[mode]["sizes"][str(r["products"])] for r in results]
        for phase in ("saturated", "paced"):
            label = "saturated" if phase == "saturated" else f"paced {web[mode]['rate']:.0f} req/s"
            for ep, ep_label in (("for_you", "for-you"), ("floor", "floor")):
                get = [size[phase][ep] for size in sizes]
                key = mode == "cached" and ep == "for_you"
                row(f"HTTP, {title}, {label}: {ep_label} req/s", [g["rate"] for g in get], "{:,.0f}")
                row(f"&nbsp; {ep_label} p50 ms", [g["p50_ms"] for g in get])
                row(f"&nbsp; {ep_label} p99 ms", [g["p99_ms"] for g in get], bold=key)
        row(
            f"HTTP, {title}: gunicorn up (workers loaded the bundle), s",
            [s["server_up_seconds"] for s in sizes],
        )
        row("&nbsp; first read of every load visitor, s", [s["first_reads_seconds"] for s in sizes])
    row(
        "serving core in process (`recommend`, for_you), p50 ms",
        [r["miss"]["p50_ms"] for r in results],
        "{:,.2f}",
    )
    row("&nbsp; p99 ms", [r["miss"]["p99_ms"] for r in results], "{:,.2f}")
    row("&nbsp; CPU p50 ms", [r["miss"]["cpu_p50_ms"] for r in results], "{:,.2f}")
    row("&nbsp; CPU p99 ms", [r["miss"]["cpu_p99_ms"] for r in results], "{:,.2f}")
    row("model bundle load in process, s", [r["bundle_load_seconds"] for r in results], "{:,.2f}")
    row("process RSS with the bundle loaded, MiB", [r["rss_with_bundle"] / 2**20 for r in results], "{:,.0f}")
    row("seed: catalogue (`bulk_create`), s", [r["seed"]["seconds"]["seed catalogue"] for r in results])
    row("&nbsp; peak RSS, MiB", [r["seed"]["peak"]["seed catalogue"] / 2**20 for r in results], "{:,.0f}")
    row("seed: history (`import_events`), s", [r["seed"]["seconds"]["seed history"] for r in results])
    row("**full rebuild**, s", [r["rebuild"]["seconds"] for r in results])
    for step in big["rebuild"]["steps"]:
        values = [r["rebuild"]["steps"].get(step, 0.0) for r in results]
        row(f"&nbsp; {step}, s", values, "{:,.2f}")
    row("rebuild peak RSS, MiB", [r["rebuild"]["peak_max"] / 2**20 for r in results], "{:,.0f}")
    for step in big["rebuild"]["peak"]:
        values = [r["rebuild"]["peak"].get(step, 0) / 2**20 for r in results]
        row(f"&nbsp; peak RSS during {step}, MiB", values, "{:,.0f}")
    row("model artifacts, MiB", [sum(r["artifacts"].values()) / 2**20 for r in results], "{:,.0f}")

    events = " / ".join(f"{r['events']:,}" for r in results)
    loads = "; ".join(f"{r['products']:,}: {r['load']['start']} -> {r['load']['end']}" for r in results)
    text = [
        HEADING,
        "",
        f"Command: `{command}` (with `BENCH_SERVING_DATABASE_URL` and `REDIS_URL` set). Machine: "
        f"{ingest.machine()}, **shared with other jobs** (another helper's benchmarks and test "
        f"suites), everything at nice 19. Commit {big['commit']}. Seed and rebuild: "
        f"{small['date_start']} to {big['date_end']}, load average (1 / 5 / 15 min) at the start "
        f"and end of each size: {loads}. HTTP: {web.get('date_start', '?')} to "
        f"{web.get('date_end', '?')}, load average {web.get('load_start', '?')} -> "
        f"{web.get('load_end', '?')}.",
        "",
        f"Data: bench/serving_seed.py's catalogue at each size (30 leaf categories under 6 roots) "
        f"and the same {small['visitors']:,} visitors with the same sessions ({events} events: the "
        f"history has its own random stream, only the product drawn inside a leaf differs). HTTP: "
        f"one gunicorn per size side by side (docs/gunicorn.conf.py, {web['workers']} gthread "
        f"workers x {web['threads']} threads each), {web['connections']} keep-alive connections "
        f"cycling through {len(small['load_visitors']):,} visitors, each read once first (Redis slot "
        f"hash and near cache filled); then for-you and the floor (trivial DRF GET) of every size in "
        f"turn, {web['rounds']} alternating rounds, {web['seconds']:g} s per endpoint and size per "
        f"mode, so the machine's drift hits both sizes alike; paced at the same total rate for "
        f"every size, latency from the scheduled send. The uncached servers run with "
        f"`RECOMMENDATIONS_SLOT_CACHE = False` (every read runs the serving core, as after an event "
        f"or a model swap). In process: `recommend(subject, 'for_you')` for the load visitors, "
        f"warm, {small['miss']['calls']} calls. Ratio: biggest size / smallest.",
        "",
        *lines,
        "",
    ]
    if "cached" in web:
        c = web["cached"]["sizes"]
        paced = [c[str(r["products"])]["paced"]["for_you"]["p99_ms"] for r in (small, big)]
        sat = [c[str(r["products"])]["saturated"]["for_you"]["p99_ms"] for r in (small, big)]
        ok = paced[1] / paced[0] <= TARGET_P99_RATIO and sat[1] / sat[0] <= TARGET_P99_RATIO
        text.append(
            f"Target (for-you p99 at {big['products']:,} products <= {TARGET_P99_RATIO}x its p99 at "
            f"{small['products']:,}), cached reads through HTTP: paced {paced[0]:.1f} -> {paced[1]:.1f} ms "
            f"(**{paced[1] / paced[0]:.2f}x**), saturated {sat[0]:.1f} -> {sat[1]:.1f} ms "
            f"(**{sat[1] / sat[0]:.2f}x**): {'**met**' if ok else '**missed**'}."
        )
    if "uncached" in web:
        u = web["uncached"]["sizes"]
        paced = [u[str(r["products"])]["paced"]["for_you"]["p99_ms"] for r in (small, big)]
        text.append(
            f"Misses through HTTP (slot cache off), paced p99 {paced[0]:.1f} -> {paced[1]:.1f} ms "
            f"({paced[1] / paced[0]:.2f}x); the serving core in process, p99 "
            f"{small['miss']['p99_ms']:.2f} -> {big['miss']['p99_ms']:.2f} ms "
            f"({big['miss']['p99_ms'] / small['miss']['p99_ms']:.2f}x)."
        )
    return "\n".join(text) + "\n"


def write_docs(section: str) -> None:
    """Replace (or add) the subsection at the end of ``## Scale`` in docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text()
    sub = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^#{{2,3}} |\Z)", re.S | re.M)
    if sub.search(text):
        text = sub.sub(lambda _: section + "\n", text, count=1)
    else:
        scale_section = re.compile(r"^## Scale\n.*?(?=^## |\Z)", re.S | re.M)
        match = scale_section.search(text)
        if match is None:
            raise SystemExit("docs/benchmarks.md has no '## Scale' section")
        end = match.end()
        text = text[:end].rstrip("\n") + "\n\n" + section + "\n" + text[end:]
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", default="20000,1000000", help="catalogue sizes, comma-separated")
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--load-visitors", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=8.0, help="load per endpoint, size and mode")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds the seconds are split in")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=300.0, help="paced total rate, cached reads")
    parser.add_argument("--miss-rate", type=float, default=60.0, help="paced total rate, slot cache off")
    parser.add_argument("--miss-calls", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout", type=int, default=600, help="gunicorn worker timeout, s")
    parser.add_argument("--port", type=int, default=8765, help="first port (one per size)")
    parser.add_argument("--skip-uncached", action="store_true")
    parser.add_argument("--skip-seed", action="store_true", help="reuse the seeded databases and results")
    parser.add_argument("--report-only", action="store_true", help="re-read bench/out/catalogue-*.json")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.one:
        (OUT / f"catalogue-{args.one}.json").write_text(json.dumps(run_one(args), indent=1))
        return
    sizes = [int(s) for s in args.products.split(",") if s]
    passthrough = ["--visitors", str(args.visitors), "--load-visitors", str(args.load_visitors)]
    passthrough += ["--miss-calls", str(args.miss_calls)]
    for size in sizes if not (args.report_only or args.skip_seed) else []:
        env = {**os.environ, "CATALOGUE_PRODUCTS": str(size)}
        subprocess.run([sys.executable, __file__, "--one", str(size), *passthrough], check=True, env=env)
    results = [json.loads((OUT / f"catalogue-{n}.json").read_text()) for n in sizes]
    if not args.report_only:
        import uuid

        import django

        django.setup()  # the cookie signer
        visitors = [uuid.UUID(v) for v in results[0]["load_visitors"]]
        if any(r["load_visitors"] != results[0]["load_visitors"] for r in results):
            raise SystemExit("the sizes were seeded with different visitors")
        logs = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-catalogue"
        logs.mkdir(parents=True, exist_ok=True)
        web: dict = {"date_start": date_utc(), "load_start": " / ".join(f"{x:.2f}" for x in os.getloadavg())}
        for key in ("workers", "threads", "connections", "seconds", "rounds"):
            web[key] = getattr(args, key)
        web["cached"] = http(args, sizes, visitors, True, logs)
        if not args.skip_uncached:
            web["uncached"] = http(args, sizes, visitors, False, logs)
        web["date_end"] = date_utc()
        web["load_end"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        (OUT / "catalogue-http.json").write_text(json.dumps(web, indent=1))
    web = json.loads((OUT / "catalogue-http.json").read_text())
    command = "nice -n 19 .venv/bin/python bench/catalogue.py " + " ".join(sys.argv[1:])
    section = report(results, web, command.strip())
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
