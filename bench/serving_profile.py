"""Where a for-you request (and a page with three slots) spends its time, in process (one thread,
Django test client, the same settings, data and warm caches as the gunicorn runs).

Two views: each layer timed directly (no profiler; medians of alternating blocks; wall and this
thread's CPU time), and the inner parts as a share of the whole request from cProfile (cumulative
time, so a profiler's per-call overhead inflates Python-heavy parts a little; the shares are for
finding the big items). Both time the path the load runs take: cache hits.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
import uuid
from collections.abc import Callable

# (label, file suffix, function name) of the inner parts reported from the profile. A request is
# served from the slot cache, so these are the parts of that path; recommend_slots is what a miss
# would add (0 % when every request of the sample is a hit, as it should be).
PARTS = (
    ("slot view (for-you/ fast path: cached JSON body)", "api/slots.py", "dispatch"),
    ("  cache lookup (the process's copy; Redis on a miss)", "serving/near.py", "hmget"),
    ("    of which HMGET round trips to Redis", "serving/resp.py", "hmget"),
    ("  tokens filled into the cached body", "api/slotbody.py", "fill"),
    ("    of which the 10 HMAC signatures", "recommendations/attribution.py", "_signed"),
    ("  serving core on a miss (recommend_slots)", "serving/core.py", "recommend_slots"),
    ("visitor cookie and bot check (get_visitor, once per request)", "tracking/visitors.py", "get_visitor"),
    ("URL resolving", "django/core/handlers/base.py", "resolve_request"),
    ("session middleware (request + response)", "contrib/sessions/middleware.py", "process_request"),
    ("messages middleware", "contrib/messages/middleware.py", "process_request"),
)
# The same for the page with three slot tags (bench/serving_urls.py).
PAGE_PARTS = (
    ("the page's template render", "django/template/backends/django.py", "render"),
    ("  the three slot tags", "templatetags/recommendations.py", "render"),
    ("    the page's slots: cache lookup, rows, tokens (page_items)", "serving/render.py", "page_items"),
    ("      cache lookup (the process's copy; Redis on a miss)", "serving/near.py", "hmget"),
    ("        of which HMGET round trips to Redis", "serving/resp.py", "hmget"),
    ("      rows decoded from the cached entry", "serving/page.py", "decode"),
    ("      items with their signed tokens (items_of)", "serving/render.py", "items_of"),
    ("      serving core on a miss (recommend_slots)", "serving/core.py", "recommend_slots"),
    ("    slot markup (slot.html written directly)", "templatetags/slot_markup.py", "slot_html"),
    ("the page's own product query (PostgreSQL)", "django/db/backends/utils.py", "execute"),
)


def _client(visitor: uuid.UUID, cookie_for: Callable[[uuid.UUID], str]):
    from django.test import Client

    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
    name, value = cookie_for(visitor).split("=", 1)
    client.cookies[name] = value
    return client


def layers(
    visitors: list[uuid.UUID],
    cookie_for: Callable[[uuid.UUID], str],
    floor: str,
    for_you: str,
    pages: tuple[str, str] | None = None,
    blocks: int = 6,
) -> dict[str, tuple[float, float]]:
    """Median (wall ms, CPU ms) per call of each layer, alternating blocks over ``visitors``. CPU
    is this thread's (``time.thread_time``): what the layer computes, without waiting for Redis or
    PostgreSQL or for the cores other processes hold. ``pages``: the page without and with slots."""
    from django.http import HttpResponse

    from recommendations.api import slotbody
    from recommendations.serving import page, recommend
    from recommendations.serving.cache import get_slot_cache
    from recommendations.serving.page import SlotSpec
    from recommendations.serving.render import slot_items
    from recommendations.subjects import Subject

    clients = [_client(v, cookie_for) for v in visitors]
    refs = [Subject(None, v) for v in visitors]
    spec = [SlotSpec("for_you", {}, 10)]
    payloads = [page.page_payload(ref, spec, slotbody.KIND) for ref in refs]
    cache = get_slot_cache()
    keys = [cache.store.slots_key(ref.key) for ref in refs] if cache is not None else []
    hmget = getattr(getattr(cache, "_reader", None), "hmget", None)
    body = clients[0].get(for_you).content
    real = slotbody.fast_response

    def fixed_body(view, request, query):  # the fast path without its lookup and its tokens
        response = HttpResponse(body, content_type="application/json")
        for name, value in slotbody._headers(view):
            response[name] = value
        return response

    def without_lookup(i: int) -> object:
        slotbody.fast_response = fixed_body
        try:
            return clients[i].get(for_you)
        finally:
            slotbody.fast_response = real

    cases: dict[str, Callable[[int], object]] = {
        "floor: trivial DRF GET, full middleware": lambda i: clients[i].get(floor),
        "GET for-you/, full middleware": lambda i: clients[i].get(for_you),
        "  same, with a fixed body (no lookup, no tokens)": without_lookup,
        "  cached body of for-you (page_payload: one cache lookup)": lambda i: page.page_payload(
            refs[i], spec, slotbody.KIND
        ),
        "  tokens filled into the body (fill: 10 signatures)": lambda i: slotbody.fill(
            payloads[i], "for_you", "0123456789abcdef"
        ),
        "slot_items() — the selector the template tags and the DRF path call": lambda i: slot_items(
            None, "for_you", visitor=refs[i]
        ),
        "recommend() — the serving core (what a cache miss adds)": lambda i: recommend(refs[i], "for_you"),
    }
    if pages is not None:  # the page's three slot tags, split: their items, then their markup
        from recommendations.serving.render import page_items
        from recommendations.templatetags.slot_markup import slot_html

        slots = [SlotSpec(name) for name in ("for_you", "trending", "recently_viewed")]
        rendered = [page_items(None, slots, visitor=ref) for ref in refs]
        cases["page_items(): the three slots' items with their tokens"] = lambda i: page_items(
            None, slots, visitor=refs[i]
        )
        cases["slot_html() x3: the three slots' markup"] = lambda i: [
            slot_html(spec.slot, spec.slot, items, True)
            for spec, items in zip(slots, rendered[i], strict=True)
        ]
    if hmget is not None:
        cases["one bare HMGET round trip to Redis (the lookup's I/O)"] = lambda i: hmget(keys[i], ("ver",))
    if pages is not None:
        cases["page without slots, full middleware"] = lambda i: clients[i].get(pages[0])
        cases["page with three slots, full middleware"] = lambda i: clients[i].get(pages[1])
    n = len(visitors)
    for case in cases.values():  # warm: product_info cache, DB and Redis connections
        for i in range(n):
            case(i)
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for block in range(blocks):
        for name, case in cases.items():
            started, cpu_started = time.perf_counter(), time.thread_time()
            for i in range(n):
                case((i + block) % n)
            wall[name].append((time.perf_counter() - started) / n * 1e3)
            cpu[name].append((time.thread_time() - cpu_started) / n * 1e3)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in cases}


def shares(
    visitors: list[uuid.UUID],
    cookie_for: Callable[[uuid.UUID], str],
    path: str,
    parts: tuple[tuple[str, str, str], ...] = PARTS,
) -> dict[str, float]:
    """Each part's cumulative time as a share of the whole request to ``path``, from cProfile
    (the requests are cache hits, as in the load runs: each visitor is asked once beforehand)."""
    clients = [_client(v, cookie_for) for v in visitors]
    for client in clients:
        client.get(path)
    profile = cProfile.Profile()
    profile.enable()
    for client in clients:
        client.get(path)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    cumulative: dict[tuple[str, str], float] = {}
    total = 0.0
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.items():
        if func == "get" and filename.endswith("django/test/client.py"):
            total = max(total, ct)
        for _label, suffix, name in parts:
            if func == name and filename.endswith(suffix):
                cumulative[(suffix, name)] = cumulative.get((suffix, name), 0.0) + ct
    return {label: cumulative.get((suffix, name), 0.0) / total for label, suffix, name in parts}
