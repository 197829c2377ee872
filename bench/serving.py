"""Serving benchmark: for-you under load, freshness after an event, and what slots add to a page.

    .venv/bin/python bench/serving.py [--seconds 8] [--write-docs]

Seeds the test app on real PostgreSQL + Redis (bench.serving_settings: its own database and key
prefix, see bench/serving_seed.py), rebuilds the models, starts gunicorn (bench/ingest.py's
``start_server``) and measures on loopback with bench/loadgen.py, 32 keep-alive connections:

* ``GET /api/recommendations/for-you/`` for ~1000 visitors with live state and trained history
  (each connection cycles through its own visitors), next to the floor: a trivial DRF GET on the
  same server (``bench/serving_urls.py``); back to back (saturated) and paced at a fixed rate
  (latency from the scheduled send, so queueing is not hidden);
* freshness: a visitor views a product of a root category they never touched
  (``POST /api/recommendations/events/``), then ``for-you`` is polled until another product of
  that leaf category is in the answer; idle and while 32 connections load for-you;
* a page with ``{% for_you %}{% trending %}{% recently_viewed %}`` vs the same page without them.

Every phase is bounded in time and in requests. Needs PostgreSQL (BENCH_SERVING_DATABASE_URL,
created if missing) and Redis (REDIS_URL).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import ingest  # noqa: E402 - sets bench.settings; ours replaces it below
from bench.loadgen import LoadResult, build_request, run_load  # noqa: E402

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.serving_settings"  # inherited by gunicorn

import django  # noqa: E402

HOST = ingest.HOST
FOR_YOU = "/api/recommendations/for-you/"
EVENTS = "/api/recommendations/events/"
FLOOR = "/bench/floor/read/"
PAGE_SLOTS = "/bench/page/slots/"
PAGE_PLAIN = "/bench/page/plain/"
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"
TARGET_P50_RATIO = 1.5
TARGET_P99_MS = 10.0
TARGET_RATE_RATIO = 0.6
TARGET_PAGE_RATIO = 1.3
TARGET_FRESH_P99_MS = 1000.0
FRESH_TIMEOUT = 1.0
AIM_FRESH_MS = 100.0


def cookie_for(visitor: uuid.UUID) -> str:
    """The signed visitor cookie the app itself would have set for ``visitor``."""
    from django.core import signing

    from recommendations.conf import app_settings
    from recommendations.tracking.visitors import COOKIE_SALT

    name = app_settings.VISITOR_COOKIE_NAME
    return f"{name}={signing.get_cookie_signer(salt=name + COOKIE_SALT).sign(str(visitor))}"


def get_requests(port: int, path: str, visitors: list[uuid.UUID], connections: int) -> list[list[bytes]]:
    """One list per connection: the same GET for each of that connection's visitors."""
    requests: list[list[bytes]] = [[] for _ in range(connections)]
    for n, visitor in enumerate(visitors):
        requests[n % connections].append(build_request(HOST, port, path, b"", cookie_for(visitor), "GET"))
    return requests


def merge(a: LoadResult | None, b: LoadResult) -> LoadResult:
    if a is None:
        return b
    statuses = {k: a.statuses.get(k, 0) + b.statuses.get(k, 0) for k in {*a.statuses, *b.statuses}}
    return LoadResult(
        a.requests + b.requests,
        a.errors + b.errors,
        a.seconds + b.seconds,
        a.latencies + b.latencies,
        statuses,
    )


def compare(
    port: int,
    phases: dict[str, list[list[bytes]]],
    seconds: float,
    rounds: int,
    interval: float | None = None,
) -> dict[str, LoadResult]:
    """Alternate the phases ``rounds`` times so drift (CPU frequency, other processes on this
    machine) hits each alike; ``seconds`` is the total per phase."""
    results: dict[str, LoadResult] = {}
    for _ in range(rounds):
        for name, requests in phases.items():
            result = run_load(
                HOST, port, requests, seconds=seconds / rounds, max_requests=1_000_000, interval=interval
            )
            if result.errors:
                print(f"  ! {name}: {result.errors} errors, statuses {result.statuses}", file=sys.stderr)
            results[name] = merge(results.get(name), result)
    return results


def start_server(args, log: Path, freeze: bool = False) -> subprocess.Popen:
    """gunicorn as ``bench/ingest.py`` starts it, plus ``--gunicorn-config`` (docs/gunicorn.conf.py:
    single-threaded BLAS, models warmed after the worker loaded the project; ``freeze`` turns on
    its optional ``gc.freeze()``)."""
    command = [sys.executable, "-m", "gunicorn", "bench.wsgi:application", "--bind", f"{HOST}:{args.port}"]
    if args.gunicorn_config:
        command += ["--config", args.gunicorn_config]
    command += ["--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads)]
    command += ["--keep-alive", "30", "--log-level", "warning"]
    env = {**os.environ, "RECOMMENDATIONS_GUNICORN_GC_FREEZE": "1" if freeze else "0"}
    process = subprocess.Popen(command, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    return ingest.wait_until_up(process, args.port, log)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def warm(args, requests: list[list[bytes]], visitors: int) -> None:
    """Every load visitor once (fills each worker's product caches as a running shop's are, and
    the visitor's slot cache entry for these requests)."""
    run_load(HOST, args.port, requests, seconds=60.0, max_requests=visitors)
    run_load(HOST, args.port, requests, seconds=2.0, max_requests=4000)


def gc_freeze_ab(args, requests: list[list[bytes]], visitors: int, interval: float, logs: Path):
    """for-you with and without ``gc.freeze()`` (otherwise the same server), alternating fresh
    servers ``--gc-rounds`` times; saturated and paced at ``interval``."""
    out: dict[tuple[bool, str], LoadResult] = {}
    for _ in range(args.gc_rounds):
        for freeze in (True, False):
            server = start_server(args, logs / "gunicorn-gc.log", freeze=freeze)
            try:
                warm(args, requests, visitors)
                for mode, every in (("saturated", None), ("paced", interval)):
                    result = run_load(
                        HOST,
                        args.port,
                        requests,
                        seconds=args.seconds / 2,
                        max_requests=1_000_000,
                        interval=every,
                    )
                    out[(freeze, mode)] = merge(out.get((freeze, mode)), result)
            finally:
                stop_server(server)
    return out


# --- freshness ------------------------------------------------------------------------------------


@dataclass
class Fresh:
    seconds: list[float]  # POST sent -> first for-you answer that is the new state's answer
    polls: list[int]  # for-you requests after the POST, the answering one included
    misses: int  # trials where no answer within the timeout was the new state's
    trials: int
    unchanged: int = 0  # trials whose view did not change the answer (no signal: not counted)

    def all_ms(self) -> list[float]:
        """Every trial in ms, a miss counting as never (infinite)."""
        return [s * 1e3 for s in self.seconds] + [float("inf")] * self.misses


def new_state_answer(visitor: uuid.UUID) -> list[str]:
    """The product ids for-you/ answers for ``visitor``'s current state, computed here uncached
    (the same models, live state and recipe the server uses): what a fresh answer must be."""
    from recommendations.experiments.registry import recipe_for
    from recommendations.serving import page
    from recommendations.serving.page import SlotSpec
    from recommendations.subjects import Subject

    subject = Subject(visitor_id=visitor)  # as the server builds it from the cookie
    spec = SlotSpec("for_you", {}, 10)  # what a plain GET for-you/ asks for
    return [row.product_id for row in page.compute(subject, [spec], [recipe_for("for_you", subject)])[0]]


class Client:
    """One keep-alive connection acting as one visitor."""

    def __init__(self, port: int, visitor: uuid.UUID) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=10)
        self.headers = {"Cookie": cookie_for(visitor), "User-Agent": UA}

    def for_you(self) -> list[str]:
        self.conn.request("GET", FOR_YOU, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        assert response.status == 200, (response.status, body[:300])
        return [item["product_id"] for item in json.loads(body)["results"]]

    def view(self, product: str) -> None:
        body = json.dumps({"kind": "view", "product": product}).encode()
        headers = {**self.headers, "Content-Type": "application/json"}
        self.conn.request("POST", EVENTS, body=body, headers=headers)
        response = self.conn.getresponse()
        answer = response.read()
        assert response.status == 202, (response.status, answer[:300])

    def close(self) -> None:
        self.conn.close()


def freshness(
    port: int, shop, visitors: list[uuid.UUID], seconds: float, timeout: float = FRESH_TIMEOUT
) -> Fresh:
    out = Fresh([], [], 0, 0)
    deadline = time.perf_counter() + seconds
    leaves = sorted(shop.popular_in_leaf)
    for n, visitor in enumerate(visitors):
        if time.perf_counter() > deadline:
            break
        client = Client(port, visitor)
        try:
            before = client.for_you()
            shown = {shop.leaf_of[pid] for pid in before}
            touched = shop.touched_roots[visitor]
            # a leaf under a root the visitor never touched, and not already in their for-you:
            # a view there changes the answer
            fresh = [leaf for leaf in leaves if shop.root_of_leaf[leaf] not in touched and leaf not in shown]
            leaf = fresh[n % len(fresh)]
            product = shop.popular_in_leaf[leaf][n % 3]
            started = time.perf_counter()
            client.view(product)
            expected: list[str] | None = None
            polls = 0
            while True:
                polls += 1
                answer = client.for_you()
                elapsed = time.perf_counter() - started
                if expected is None:  # worked out after the first answer is timed, not before
                    expected = new_state_answer(visitor)
                    if expected == before:  # the view changed nothing visible: no signal
                        out.unchanged += 1
                        break
                if answer == expected:
                    out.seconds.append(elapsed)
                    out.polls.append(polls)
                    out.trials += 1
                    break
                if time.perf_counter() - started > timeout:
                    out.misses += 1
                    out.trials += 1
                    break
        finally:
            client.close()
    return out


def _background(
    port: int, requests: list[list[bytes]], seconds: float, interval: float | None, queue
) -> None:
    result = run_load(HOST, port, requests, seconds=seconds, max_requests=10_000_000, interval=interval)
    queue.put((result.requests, result.errors, result.seconds))


def freshness_under_load(
    port: int,
    shop,
    visitors: list[uuid.UUID],
    load: list[list[bytes]],
    seconds: float,
    interval: float | None = None,
) -> tuple[Fresh, float]:
    """Freshness trials while a separate process keeps ``load`` going (its own GIL, so the load
    generator does not delay the trial's client)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    django.db.connections.close_all()
    process = context.Process(target=_background, args=(port, load, seconds + 1.0, interval, queue))
    process.start()
    time.sleep(0.5)
    try:
        fresh = freshness(port, shop, visitors, seconds)
    finally:
        requests, _errors, elapsed = queue.get(timeout=seconds + 60)
        process.join(timeout=30)
    return fresh, requests / elapsed


def pctl(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# The previous request path (commit 03115be: one in_bulk product query per slot, DRF serializers
# per request, zlib-compressed JSON tokens, sparse fancy indexing in the session kNN, for-you
# showing recently viewed products), measured by this script then on the same data.
BEFORE = """### Before this round of serving work

Measured by this script at commit 03115be (same data and settings; load average 5.99 / 7.37 /
6.66 at the start, so the absolute numbers carry more noise than the in-process ones):

| measurement | before | now (this run) |
| --- | --- | --- |
| in process: for-you request, full middleware | 8.04 ms | {now_view:.2f} ms |
| in process: slot_items() | 5.91 ms | {now_slot:.2f} ms |
| in process: recommend() | 2.08 ms | {now_rec:.2f} ms |
| in process: floor | 0.31 ms | {now_floor:.2f} ms |
| gunicorn saturated: for-you req/s | 66 | {now_rate:,.0f} |
| gunicorn saturated: for-you p50 / p99 | 350.8 / 1756.8 ms | {now_sat_p50:.1f} / {now_sat_p99:.1f} ms |
| gunicorn paced at 27 req/s: for-you p50 / p99 (p50 ratio to the floor's) | 15.1 / 82.6 ms (5.9x) | {fixed} |
| gunicorn paced at 50% of the saturated rate: for-you p50 / p99 (ratio) | at 27 req/s: see above | {now_p50:.1f} / {now_p99:.1f} ms ({now_ratio:.1f}x) at {now_paced_rate:,.0f} req/s |
| page with three slots: added p50 (paced) | 37.0 ms | {now_page:.1f} ms |
"""


# This pass's back-to-back comparison (fb484bb vs 0733d12), kept when the section is rewritten.
ROUND2 = """### Second pass on issue 12: before and after, back to back

The serving code just before this pass (fb484bb, exported with `git archive`, its own bench
script: the freshness check of that time, see above) and after it (0733d12: the per-row slot
markup, the signature encoding; the bench's profile and freshness check; the second "after" run
at ae94b8b, the same serving code), each run twice, in
turn, with the same command (`--gc-rounds 0` for the "before" runs and the second "after" run) on
the same seeded data, 2026-12-02 05:57-06:14 UTC. Two other sessions' CPU-heavy jobs (nice 19)
held the two cores throughout; the load average rose during the runs, so compare within a column
pair and read the spread between the pairs as the noise. The tables above come from a later run
(the commit in the header: this code plus the token frames of the cached for-you body, which cut
`fill` from 72 to 57 us per request in process):

| measurement (target) | before, run 1 | after, run 1 | before, run 2 | after, run 2 |
| --- | --- | --- | --- | --- |
| load average at the start | 3.51 | 5.09 | 5.25 | 10.65 |
| for-you saturated req/s / floor's (>= 0.6) | 0.74 | 0.56 | 0.60 | 0.82 |
| for-you saturated p50 / floor's (<= 1.5) | 1.65 | 2.52 | 1.63 | 1.60 |
| for-you paced p50 / floor's (<= 1.5) | 8.68 | 0.93 | 10.30 | 0.21 (floor's p50 56 ms) |
| page with 3 slots, saturated p50 / without (<= 1.3) | 3.33 | 2.80 | 2.81 | 2.98 |
| page with 3 slots, saturated req/s / without | 0.31 | 0.52 | 0.34 | 0.48 |
| page with 3 slots, paced p50 / without (<= 1.3) | 1.42 | 1.21 | 1.96 | 1.51 |
| page with 3 slots, paced: added p50 | 2.1 ms | 1.0 ms | 4.4 ms | 2.7 ms |
| freshness misses / trials (p99 <= 1 s, no misses) | 19 / 392 (old check) | 0 / 751 | 16 / 526 (old check) | 0 / 619 (4 unchanged) |

In process, CPU time (`time.thread_time()`) of the bench page's template render for 100 visitors,
medians of 7 alternating blocks, both trees against the same data, twice each (less noisy than
anything through gunicorn here):

| in process, CPU per page | before | after |
| --- | --- | --- |
| template render without slots | 0.23 / 0.29 ms | 0.23 / 0.21 ms |
| template render with three slots | 1.27 / 1.51 ms | 0.83 / 0.78 ms |
| of which the slots' markup (`slot_markup.slot_html`, 30 items) | 0.32 / 0.40 ms | 0.08 / 0.08 ms |
| of which the slots' items (`page_items`: lookup, rows, 30 tokens) | 0.36 / 0.45 ms | 0.29 / 0.29 ms |

What this pass did and did not do:

* **The three slots cost half the CPU they did** (+1.05-1.2 ms -> +0.57-0.60 ms per page over the
  same render without them): each item's markup around its token is worked out once per cached
  row, not escaped and localised again on every page. The paced page target is met in the
  quieter pair (1.21x), missed in the loaded one (1.51x); the saturated one (2.8-3.0x) is missed
  in every run.
* **No freshness misses.** The old check's misses (19 of 392 and 16 of 526 here, 2 of 86 in the
  previous write-up) were answers that had already changed to the new state's at the first poll
  and held no product of the viewed leaf; the check now waits for the new state's own answer, and
  no trial in 1,370 missed it.
* **for-you is where it was**: its request was already the floor's minus DRF plus one lookup and
  ten signatures (row "same, with a fixed body" above), and this pass changed only the token
  encoding in it. Its saturated ratios moved between 0.56 and 0.82 (req/s) and 1.6 and 2.5 (p50)
  from run to run, and its paced ones between 10.3x and 0.21x: that spread is the machine's load
  from minute to minute, not a code change.
* **Still missed, and why**: what remains of a slot read is one Redis round trip (for-you, and
  one for all the slots of a page), which on this machine costs scheduling delay whenever other
  processes hold both cores (a bare `HMGET` in a loop: 0.02-0.05 ms; inside a request: 0.1 to
  ~0.9 ms of wall time, and ~0.15 ms of the thread's CPU), plus per item a signed token and a
  `SlotItem` (~8 us each, 30 on the page). The floor and the plain page make no round trip to
  Redis, so the saturated p50 ratios and the page's stay above the targets here. A read with no
  round trip needs a per-process copy of the visitor's entry that Redis invalidates (client-side
  caching with `CLIENT TRACKING`), with the freshness guarantee argued and tested across
  workers: not done in this pass.

In the run the tables above come from (the commit in the header), the page met both of its
targets (0.93x saturated, 1.28x paced) and for-you missed all three (0.599x req/s, 2.33x
saturated and 2.96x paced p50, with a paced p99 of 854 ms that says the machine stalled during
that phase); in the two "after" runs of the table it was the other way round for the paced
for-you target and the saturated page one. One run's verdicts on this shared machine are a
sample, not a result.
"""


# The third pass (the per-process copy, slots written from the rows), kept when the section is rewritten.
ROUND3 = """### Third pass on issue 12: no round trip on a hit, slots written from the rows

What was left after the second pass, and what this pass did (main at 1cc370f before, the commits
named after):

* **No Redis round trip on a hit** (8c01317, `recommendations/serving/near.py`,
  `SLOT_NEAR_CACHE_ENTRIES`): each process keeps a copy of the slot-cache entries it read. One
  connection per process asks Redis for every change under the visitor keys' prefix (`CLIENT
  TRACKING ON REDIRECT <itself> BCAST PREFIX <prefix>v:`, RESP2 `SUBSCRIBE
  __redis__:invalidate`), and every read first takes the invalidations already waiting on that
  socket (a non-blocking `recv`, no round trip). Redis queues a broadcast invalidation before its
  reply to the writer, so on one host the next request of the shopper who just sent an event finds
  it waiting, whichever worker it lands on; the process's own writes drop their keys directly. A
  value read while its key changed is not kept; a lost connection, a fork or a `FLUSHDB` drops
  every copy. `tests/serving/test_near_cache.py` checks each of these against the real Redis (a
  write from another connection seen by the very next read, 200 times over; a change racing with
  the read; a killed invalidation connection; a fork; a server without tracking).
* **The page's slots written from the cached rows** (fe23978): the rows of a cached payload are
  decoded once per payload (`page.decoded`, shared by every reader), the tokens are signed once per
  render, and the app's markup is written from the rows (`slot_markup.page_slot_html`, byte for
  byte `slot_html`'s, `tests/serving/test_slot_html.py`); the `SlotItem`s are made only when a
  project template or `{% ... as items %}` reads them. Then (ee55205) the markup around each
  token and the token frames are kept per cached payload (`slot_markup._compiled`), so a render
  signs 30 frames and joins strings. In process, the three slots' added CPU fell from about
  1.0-1.6 ms to 0.56 ms per page (final run's table above: 2.25 ms without, 2.81 ms with).
* **The bench warms every load visitor's page** (bc5344e) before the page phases, as it warms
  for-you: the 2 s warm-up reached about a third of the 1,024 visitors' pages, so the saturated
  page phase computed the others' slots (a miss each) and compared a partly cold page.

Runs of this script during the pass, 2026-12-02, on the 2-core machine shared with two other
sessions' jobs (load average 3-5 during all but the first), same command (`--seconds 8`):

| run | commit | load at start | for-you sat. req/s / p50 ratio | for-you paced p50 ratio | page sat. / paced p50 ratio |
| --- | --- | --- | --- | --- | --- |
| before | 1cc370f | 0.9 (rising to ~4) | 0.65 / 1.44 | 4.61 (532 req/s) | 2.02 / 1.23 |
| copy | 8c01317 | 3.0 | 0.79 / 0.87 | 2.55 (547 req/s) | 2.18 / 1.24 |
| copy + warm pages | bc5344e | 3.9 | 0.92 / 1.34 | 0.95 (694 req/s) | 1.87 / 1.29 |
| + markup kept per payload, during another session's 1M-product rebuild (from 14:30) | 1a4a501 | 0.3 (rising to ~3) | 0.79 / 1.63 | 56.35 (727 req/s: the rebuild held a core) | 1.36 / 1.32 |
| final, machine quiet | ea809bd | 0.9 | 0.92 / 1.28 | 0.96 (867 req/s) | 0.84 / 1.22 |

The tables at the top of this section come from the run named in its header, the last row here:
every target of issue 12 met in that one run (for-you 0.92x req/s, p50 1.28x saturated and 0.96x
paced; the page 0.84x saturated and 1.22x paced; freshness p99 <= 1 s in all three conditions, 0
misses in 590 trials). The paced p99 columns still show stalls of a few hundred milliseconds (the
floor's too); the earlier rows show how much one busy core moves every ratio on this machine.
"""


# --- report ---------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def row(name: str, result: LoadResult, floor: LoadResult | None) -> str:
    p50, p99 = result.percentile(0.5) * 1e3, result.percentile(0.99) * 1e3
    if floor is None:
        ratios = "1.00 | 1.00 | 1.00"
    else:
        ratios = (
            f"{result.rate / floor.rate:.2f} | {p50 / (floor.percentile(0.5) * 1e3):.2f} | "
            f"{p99 / (floor.percentile(0.99) * 1e3):.2f}"
        )
    return f"| {name} | {result.rate:,.0f} | {p50:.1f} | {p99:.1f} | {ratios} |"


def fresh_row(name: str, fresh: Fresh) -> str:
    every = fresh.all_ms()
    hits = [x * 1e3 for x in fresh.seconds]
    polls = statistics.mean(fresh.polls) if fresh.polls else float("nan")
    return (
        f"| {name} | {fresh.trials} | {fresh.misses} | {fresh.unchanged} | {pctl(every, 0.5):.1f} | "
        f"{pctl(every, 0.99):.1f} | "
        f"{pctl(hits, 0.5):.1f} | {pctl(hits, 0.99):.1f} | {polls:.2f} |"
    )


def _fixed(paced_fixed) -> str:
    if not paced_fixed:
        return "not measured"
    you, floor = paced_fixed["for_you"], paced_fixed["floor"]
    ratio = you.percentile(0.5) / floor.percentile(0.5)
    return (
        f"{you.percentile(0.5) * 1e3:.1f} / {you.percentile(0.99) * 1e3:.1f} ms ({ratio:.1f}x; floor "
        f"{floor.percentile(0.5) * 1e3:.1f} / {floor.percentile(0.99) * 1e3:.1f} ms)"
    )


def gc_section(args, gc_ab) -> str:
    if not gc_ab:
        return ""
    header = "| server | mode | req/s | p50 ms | p99 ms | p99.9 ms |\n| --- | --- | --- | --- | --- | --- |"
    rows = []
    for mode in ("saturated", "paced"):
        for freeze in (True, False):
            r = gc_ab[(freeze, mode)]
            name = "gc.freeze() after start-up" if freeze else "without gc.freeze()"
            rows.append(
                f"| {name} | {mode} | {r.rate:,.0f} | {r.percentile(0.5) * 1e3:.1f} | "
                f"{r.percentile(0.99) * 1e3:.1f} | {r.percentile(0.999) * 1e3:.1f} |"
            )
    body = "\n".join(rows)
    return f"""
### gc.freeze()

`docs/gunicorn.conf.py` can call `gc.collect(); gc.freeze()` in `post_worker_init` after warming
the models (`RECOMMENDATIONS_GUNICORN_GC_FREEZE=1`; off by default and in the runs above). The same
for-you load against fresh servers with and without the freeze ({args.gc_rounds} alternating servers per side, {args.seconds / 2:g} s saturated
and {args.seconds / 2:g} s paced at a quarter of the saturated for-you rate on each):

{header}
{body}
"""


def report(
    args, shop, breakdown, saturated, paced, interval, pages, pages_paced, fresh, gc_ab=None, paced_fixed=None
) -> str:
    floor, you = saturated["floor"], saturated["for_you"]
    pfloor, pyou = paced["floor"], paced["for_you"]
    plain, slots = pages["plain"], pages["slots"]
    pplain, pslots = pages_paced["plain"], pages_paced["slots"]
    rate = pfloor.requests / pfloor.seconds
    p50_ratio = pyou.percentile(0.5) / pfloor.percentile(0.5)
    sat_ratio = you.percentile(0.5) / floor.percentile(0.5)
    fresh_p99 = {name: pctl(f.all_ms(), 0.99) for name, (f, _rate) in fresh.items()}
    every = [x for f, _rate in fresh.values() for x in f.all_ms()]
    misses = sum(f.misses for f, _rate in fresh.values())
    trials = sum(f.trials for f, _rate in fresh.values())
    added_ms = (pslots.percentile(0.5) - pplain.percentile(0.5)) * 1e3
    page_sat = slots.percentile(0.5) / plain.percentile(0.5)
    page_paced = pslots.percentile(0.5) / pplain.percentile(0.5)
    added_cpu_ms = (1 / slots.rate - 1 / plain.rate) * 1e3
    date = subprocess.run(["date"], capture_output=True, text=True, check=False).stdout.strip()
    commit = args.commit
    header = (
        "| endpoint | req/s | p50 ms | p99 ms | req/s ratio | p50 ratio | p99 ratio |\n"
        "| --- | --- | --- | --- | --- | --- | --- |"
    )
    layers, shares, page_shares = breakdown
    floor_ms, floor_cpu = layers["floor: trivial DRF GET, full middleware"]
    before = BEFORE.format(
        now_view=layers["GET for-you/, full middleware"][0],
        now_slot=layers["slot_items() — the selector the template tags and the DRF path call"][0],
        now_rec=layers["recommend() — the serving core (what a cache miss adds)"][0],
        now_floor=floor_ms,
        now_rate=you.rate,
        now_sat_p50=you.percentile(0.5) * 1e3,
        now_sat_p99=you.percentile(0.99) * 1e3,
        now_p50=pyou.percentile(0.5) * 1e3,
        now_p99=pyou.percentile(0.99) * 1e3,
        now_ratio=p50_ratio,
        now_page=added_ms,
        now_paced_rate=pyou.rate,
        fixed=_fixed(paced_fixed),
    )
    layer_rows = "\n".join(
        f"| {name} | {ms:.2f} | {ms / floor_ms:.2f} | {cpu:.2f} | {cpu / floor_cpu:.2f} |"
        for name, (ms, cpu) in layers.items()
    )
    share_rows = "\n".join(f"| {name} | {share * 100:.0f} % |" for name, share in shares.items())
    page_share_rows = "\n".join(f"| {name} | {share * 100:.0f} % |" for name, share in page_shares.items())
    fresh_rows = "\n".join(
        fresh_row(name if load is None else f"{name} ({load:,.0f} for-you req/s around it)", f)
        for name, (f, load) in fresh.items()
    )
    return f"""## Serving

Command: `.venv/bin/python bench/serving.py --seconds {args.seconds:g} --write-docs`
(gunicorn with `docs/gunicorn.conf.py`, {args.workers} gunicorn gthread workers x {
        args.threads
    } threads, Redis mode, PostgreSQL,
{args.connections} keep-alive connections from `bench/loadgen.py` on loopback). Machine:
{ingest.machine()}; the load generator shares the 2 cores with gunicorn, Redis and PostgreSQL.
Date: {date}, commit {commit}. Load average when the run started: {args.load_before}, when it ended:
{getattr(args, "load_after", "?")} (other work on the machine inflates every absolute number; the
ratios are measured in alternating rounds of the same run).

Data (`bench/serving_seed.py`): {len(shop.leaf_of):,} products in {len(shop.popular_in_leaf)} leaf
categories under {len(set(shop.root_of_leaf.values()))} roots, {len(shop.visitors):,} anonymous
visitors with {shop.events:,} imported events (views, carts, purchases; live state in Redis and
trained history), rebuilt in {shop.seconds["rebuild"]:.1f} s (`training.rebuild`) before
serving. Models cached in every worker (warm-up) for all measurements. The floor is a trivial DRF
GET on the same server through the same middleware and authentication (`bench/serving_urls.py`).
for-you requests cycle through {args.load_visitors:,} visitors.

### for-you against the floor

Saturated: {args.connections} connections back to back, {args.seconds:g} s per endpoint in 2
alternating rounds.

{header}
{row("floor (trivial DRF GET)", floor, None)}
{row("GET for-you/", you, floor)}

Paced: {args.connections} connections at {rate:,.0f} req/s in total ({args.paced_share:.0%} of the
saturated for-you rate; one request every {interval * 1e3:.0f} ms per connection), latency from the
scheduled send time, so server queueing is not hidden.

{header}
{row("floor (trivial DRF GET)", pfloor, None)}
{row("GET for-you/", pyou, pfloor)}

Targets (models cached): saturated req/s >= {TARGET_RATE_RATIO:g}x the floor's — {
        you.rate / floor.rate:.3f}x {verdict(you.rate / floor.rate >= TARGET_RATE_RATIO)}; p50 <= {
        TARGET_P50_RATIO:g}x the floor's — paced {p50_ratio:.2f}x
{verdict(p50_ratio <= TARGET_P50_RATIO)}, saturated {sat_ratio:.2f}x
{verdict(sat_ratio <= TARGET_P50_RATIO)}; p99 <= {TARGET_P99_MS:g} ms — paced
{pyou.percentile(0.99) * 1e3:.1f} ms {verdict(pyou.percentile(0.99) * 1e3 <= TARGET_P99_MS)},
saturated {you.percentile(0.99) * 1e3:.1f} ms {verdict(you.percentile(0.99) * 1e3 <= TARGET_P99_MS)}.
With {args.connections} closed-loop clients, latency is {args.connections} / throughput
(Little's law): p99 <= {TARGET_P99_MS:g} ms saturated would need over
{args.connections / TARGET_P99_MS * 1e3:,.0f} req/s, more than the floor itself serves here.

### Where the time goes

In process, one thread, the same data and warm caches (`bench/serving_profile.py`), median per
call over {args.profile_visitors} visitors, every request a cache hit as in the load runs; wall
time, and this thread's CPU time (`time.thread_time()`: without the waits for Redis, PostgreSQL
and for the cores other processes hold):

| layer | wall ms | x floor | CPU ms | x floor CPU |
| --- | --- | --- | --- | --- |
{layer_rows}

Share of a whole for-you request (cProfile, cumulative; inner parts indented; the request is a
cache hit, so the serving core's row should read 0 %):

| part | share |
| --- | --- |
{share_rows}

Share of a whole page with three slots (same profile):

| part | share |
| --- | --- |
{page_share_rows}

What for-you does beyond the floor on a hit: one cache lookup (the visitor's live-state version
and the cached body) and ten HMAC signatures filled into the cached JSON body; it skips DRF's
request wrapping, negotiation and rendering, which the floor pays, so the same request with a fixed
body instead of the lookup and the tokens costs less than the floor (row "same, with a fixed
body"). The lookup is answered from the worker process's own copy of the entry
(`recommendations/serving/near.py`, `SLOT_NEAR_CACHE_ENTRIES`), which Redis invalidates the moment
the visitor's slots hash changes (client tracking, broadcast on the visitor keys' prefix), so a
repeated read makes no round trip; the row "of which HMGET round trips" is what is left of the
`HMGET` (a process's first read of a visitor, and the first read after each change). Before the
copy, that one round trip cost far more inside a request than a bare `HMGET` in a tight loop: the
worker thread blocked, Redis ran (here on the same two cores as gunicorn, the load generator,
PostgreSQL and other jobs), and the thread resumed later and on cold caches. A page's three slot
tags add the same one lookup for all three slots, 30 signatures, the rows' decoding and the markup
(each item's markup around its token is kept per cached row).

{before}
{gc_section(args, gc_ab)}
### Freshness

A visitor views a product from a root category they never touched and whose leaf category their
for-you does not show (`POST events/`, 202), then polls `for-you/` until the answer is the new
state's: the product list that the serving core, run uncached in the benchmark process on the same
models and live state, gives after the view (worked out once the first answer after the POST is
timed). Time from sending the POST to that answer; a trial with no such answer within
{FRESH_TIMEOUT:g} s is a miss and counts as never. A view that leaves the answer as it was gives no
signal and is not counted (column "unchanged").

An earlier version of this check waited for another product of the viewed leaf to appear; its
misses (2 of 86) were answers that had changed at the first poll to the new state's, which for
those visitors held no product of that leaf (the known-user iALS model ranked other leaves higher):
what is recommended, not a stale cache.

| condition | trials | misses | unchanged | p50 ms (all) | p99 ms (all) | p50 ms (hits) | p99 ms (hits) | polls per hit |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{fresh_rows}

Target p99 <= {TARGET_FRESH_P99_MS:g} ms over all trials: {
        ", ".join(f"{name} {verdict(p99 <= TARGET_FRESH_P99_MS)}" for name, p99 in fresh_p99.items())
    }; aim {AIM_FRESH_MS:g} ms: {
        ", ".join(f"{name} {verdict(p99 <= AIM_FRESH_MS)}" for name, p99 in fresh_p99.items())
    }. Median of all {trials} trials: {pctl(every, 0.5):.1f} ms; {misses} misses.

### A page with three slots

`{{% for_you %}}{{% trending %}}{{% recently_viewed %}}` (each rendering
`recommendations/slot.html`, up to 10 items) vs the same page without them, through gunicorn for
the same visitors. The demo shop's templates had no slots yet when this was written, so the page
is the bench project's (`bench/serving_urls.py`: a 12-product listing, one query).

{header.replace("endpoint", "page")}
{row("without slots, saturated", plain, None)}
{row("with 3 slots, saturated", slots, plain)}
{row("without slots, paced", pplain, None)}
{row("with 3 slots, paced", pslots, pplain)}

Target p50 <= {TARGET_PAGE_RATIO:g}x the page without slots: saturated {page_sat:.2f}x
{verdict(page_sat <= TARGET_PAGE_RATIO)}, paced {page_paced:.2f}x {verdict(page_paced <= TARGET_PAGE_RATIO)}.
Added time per page: **{added_ms:.1f} ms** at p50 when paced (what a shopper waits), and
{added_cpu_ms:.1f} ms of server capacity per page at saturation (difference of 1 / rate).

{ROUND2}
{ROUND3}"""


def source_commit() -> str:
    """The commit the measured code is at, marked when files other than the docs differ from it."""

    def git(*command: str) -> str:
        return subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True, check=False).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = [
        line
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if "docs/" not in line
    ]
    return f"{commit} (with uncommitted changes)" if changed else commit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="load per phase (total, 2 rounds)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--load-visitors", type=int, default=1024, help="visitors the load cycles through")
    parser.add_argument("--paced-share", type=float, default=0.5, help="paced rate / saturated for-you rate")
    parser.add_argument("--fresh-seconds", type=float, default=12.0, help="time per freshness condition")
    parser.add_argument("--profile-visitors", type=int, default=100, help="in-process breakdown sample")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--write-docs", action="store_true", help="update the ## Serving section")
    parser.add_argument(
        "--gunicorn-config",
        default=str(ROOT / "docs" / "gunicorn.conf.py"),
        help="gunicorn config file ('' for none)",
    )
    parser.add_argument(
        "--compare-rate", type=float, default=27.0, help="also pace at this total rate (the previous run's)"
    )
    parser.add_argument("--gc-rounds", type=int, default=2, help="servers per side in the gc.freeze() A/B")
    parser.add_argument(
        "--profile-only", action="store_true", help="print the in-process breakdown and stop (no gunicorn)"
    )
    args = parser.parse_args()
    args.load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    args.commit = source_commit()

    from bench import serving_profile, serving_seed

    django.setup()
    ingest.ensure_database()
    django.db.connections.close_all()
    print("seeding and rebuilding...", file=sys.stderr)
    shop = serving_seed.seed(args.products, args.visitors)
    print(f"  {shop.events} events; {shop.seconds}", file=sys.stderr)
    load_visitors = shop.visitors[: args.load_visitors]
    print("in-process breakdown...", file=sys.stderr)
    sample = load_visitors[: args.profile_visitors]
    breakdown = (
        serving_profile.layers(sample, cookie_for, FLOOR, FOR_YOU, pages=(PAGE_PLAIN, PAGE_SLOTS)),
        serving_profile.shares(sample, cookie_for, FOR_YOU),
        serving_profile.shares(sample, cookie_for, PAGE_SLOTS, serving_profile.PAGE_PARTS),
    )
    django.db.connections.close_all()
    if args.profile_only:
        for name, (ms, cpu_ms) in breakdown[0].items():
            print(f"{name:<70} {ms:7.2f} ms  CPU {cpu_ms:7.2f} ms")
        for table in breakdown[1:]:
            for name, share in table.items():
                print(f"{name:<70} {share:7.0%}")
        return
    fresh_visitors = shop.visitors[args.load_visitors :]
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-serving"
    logs.mkdir(parents=True, exist_ok=True)
    server = start_server(args, logs / "gunicorn.log")
    try:
        n = args.connections
        api = {
            "floor": get_requests(args.port, FLOOR, load_visitors, n),
            "for_you": get_requests(args.port, FOR_YOU, load_visitors, n),
        }
        pages = {
            "plain": get_requests(args.port, PAGE_PLAIN, load_visitors, n),
            "slots": get_requests(args.port, PAGE_SLOTS, load_visitors, n),
        }
        print("warm-up (every worker loads the models)...", file=sys.stderr)
        warm(args, api["for_you"], len(load_visitors))
        for requests in [*api.values(), *pages.values()]:
            # every visitor's page too: the page measurements compare cached slots, as for-you's do
            # (a 2 s warm-up reached a third of them, so the first saturated round computed the rest)
            warm(args, requests, len(load_visitors))
        print("for-you vs floor, saturated...", file=sys.stderr)
        saturated = compare(args.port, api, args.seconds, rounds=2)
        rate = args.paced_share * saturated["for_you"].rate
        interval = n / rate
        print(f"for-you vs floor, paced at {rate:.0f} req/s...", file=sys.stderr)
        paced = compare(args.port, api, args.seconds, rounds=2, interval=interval)
        print(f"for-you vs floor, paced at {args.compare_rate:.0f} req/s...", file=sys.stderr)
        paced_fixed = compare(args.port, api, args.seconds, rounds=2, interval=n / args.compare_rate)
        print("pages...", file=sys.stderr)
        page_results = compare(args.port, pages, args.seconds, rounds=2)
        page_rate = args.paced_share * page_results["slots"].rate
        pages_paced = compare(args.port, pages, args.seconds, rounds=2, interval=n / page_rate)
        third = len(fresh_visitors) // 3
        groups = [fresh_visitors[k * third : (k + 1) * third] for k in range(3)]
        print("freshness: idle, paced load, saturated load...", file=sys.stderr)
        fresh: dict[str, tuple[Fresh, float | None]] = {
            "idle server": (freshness(args.port, shop, groups[0], args.fresh_seconds), None)
        }
        background = api["for_you"][: n - 1]  # + the trial's own client = n connections
        fresh["paced load"] = freshness_under_load(
            args.port, shop, groups[1], background, args.fresh_seconds, interval
        )
        fresh["saturated load"] = freshness_under_load(
            args.port, shop, groups[2], background, args.fresh_seconds
        )
    finally:
        stop_server(server)
    gc_ab = None
    if args.gc_rounds and args.gunicorn_config:
        print("gc.freeze() A/B...", file=sys.stderr)
        # paced at a quarter of the saturated rate: far from saturation, where a GC pause shows
        gc_ab = gc_freeze_ab(args, api["for_you"], len(load_visitors), 2 * interval, logs)
    args.load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    section = report(
        args,
        shop,
        breakdown,
        saturated,
        paced,
        interval,
        page_results,
        pages_paced,
        fresh,
        gc_ab,
        paced_fixed,
    )
    print(section)
    if args.write_docs:
        ingest.write_docs(section, heading="Serving")


if __name__ == "__main__":
    main()
