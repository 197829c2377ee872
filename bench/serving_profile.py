"""Where a for-you request spends its time, in process (one thread, Django test client, the same
settings, data and warm caches as the gunicorn runs).

Two views: each layer timed directly (no profiler; medians of alternating blocks), and the inner
parts as a share of the whole request from cProfile (cumulative time, so a profiler's per-call
overhead inflates Python-heavy parts a little; the shares are for finding the big items).
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
import uuid
from collections.abc import Callable

# (label, file suffix, function name) of the inner parts reported from the profile
PARTS = (
    ("recommend() — serving core", "serving/core.py", "recommend"),
    ("  live state read (Redis pipeline)", "serving/visitor.py", "live_state"),
    ("  session source (STAN + transitions)", "serving/sources.py", "session_scores"),
    ("  item-item sources (kNN, EASE, content)", "serving/sources.py", "neighbour_scores"),
    ("  ALS fold-in", "serving/sources.py", "als_scores"),
    ("  blend (engine: filters, diversity, fallbacks)", "engine/hybrid.py", "blend"),
    ("  availability check (product_info)", "recommendations/products.py", "product_info"),
    ("display fields of the answer (process cache)", "recommendations/products.py", "product_display"),
    ("product rows (in_bulk; only when .product is read)", "django/db/models/query.py", "in_bulk"),
    ("recommendation tokens (10 signatures)", "recommendations/attribution.py", "sign"),
    ("DRF authentication (session)", "rest_framework/views.py", "perform_authentication"),
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
    blocks: int = 6,
) -> dict[str, float]:
    """Median ms per call of each layer, alternating blocks over ``visitors``."""
    from recommendations.api.slots import item_dicts
    from recommendations.serving import recommend
    from recommendations.serving.render import slot_items
    from recommendations.subjects import Subject

    clients = [_client(v, cookie_for) for v in visitors]
    refs = [Subject(None, v) for v in visitors]
    items = [slot_items(None, "for_you", visitor=ref) for ref in refs]
    cases: dict[str, Callable[[int], object]] = {
        "floor: trivial DRF GET, full middleware": lambda i: clients[i].get(floor),
        "GET for-you/, full middleware": lambda i: clients[i].get(for_you),
        "slot_items() — the selector the view calls": lambda i: slot_items(None, "for_you", visitor=refs[i]),
        "recommend() — the serving core": lambda i: recommend(refs[i], "for_you"),
        "response dicts of the 10 items (item_dicts)": lambda i: item_dicts(items[i]),
    }
    n = len(visitors)
    for case in cases.values():  # warm: product_info cache, DB and Redis connections
        for i in range(n):
            case(i)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for block in range(blocks):
        for name, case in cases.items():
            started = time.perf_counter()
            for i in range(n):
                case((i + block) % n)
            samples[name].append((time.perf_counter() - started) / n * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def shares(
    visitors: list[uuid.UUID], cookie_for: Callable[[uuid.UUID], str], for_you: str
) -> dict[str, float]:
    """Each part's cumulative time as a share of the whole for-you request, from cProfile."""
    clients = [_client(v, cookie_for) for v in visitors]
    for client in clients:
        client.get(for_you)
    profile = cProfile.Profile()
    profile.enable()
    for client in clients:
        client.get(for_you)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    cumulative: dict[tuple[str, str], float] = {}
    total = 0.0
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.items():
        if func == "get" and filename.endswith("django/test/client.py"):
            total = max(total, ct)
        for _label, suffix, name in PARTS:
            if func == name and filename.endswith(suffix):
                cumulative[(suffix, name)] = cumulative.get((suffix, name), 0.0) + ct
    return {label: cumulative.get((suffix, name), 0.0) / total for label, suffix, name in PARTS}
