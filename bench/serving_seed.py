"""Seed data for bench/serving.py: a catalogue of the demo shop's size in the test app, a
category-coherent browsing history imported with ``import_events`` (live state included), then a
rebuild so the models are stored and active.

Deterministic for a seed. Every run starts from an empty bench database (``flush``) and an empty
Redis key prefix, so numbers never depend on what an earlier run left behind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Count

ROOTS = ("Outdoor", "Kitchen", "Garden", "Office", "Toys", "Sports")
LEAVES = ("Basics", "Premium", "Travel", "Kids", "Pro")
# import_events defaults to 5000 a batch: one Lua call that long can pass the Redis client's 0.5 s
# socket timeout on a busy 2-core machine (seen while other benchmarks ran), so smaller batches.
IMPORT_BATCH = 500


@dataclass
class Shop:
    """What the benchmark needs to know about the seeded data."""

    leaf_of: dict[str, str]  # product id -> leaf category id
    root_of_leaf: dict[str, str]  # leaf category id -> root category id
    popular_in_leaf: dict[str, list[str]]  # leaf id -> product ids, most viewed first
    visitors: list[uuid.UUID]  # seeded anonymous visitors (live state + trained history)
    touched_roots: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def reset() -> None:
    """Empty the bench database and the bench's Redis keys; drop every in-process cache."""
    from django.core.management import call_command

    from recommendations import modelstore as storage
    from recommendations import runtime
    from recommendations.serving import bundle, cold

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    runtime.live_store().clear()
    bundle.clear()
    cold.clear()
    storage.clear_cache()
    runtime.product_cache().invalidate()


def _catalogue(n_products: int, rng: np.random.Generator) -> tuple[dict[str, list[str]], dict[str, str]]:
    from tests.testapp.models import Category, Item

    leaves: dict[str, str] = {}  # leaf id -> root id
    leaf_objects = []
    for root_name in ROOTS:
        root = Category.objects.create(name=root_name)
        for leaf_name in LEAVES:
            leaf = Category.objects.create(name=f"{root_name} {leaf_name}", parent=root)
            leaves[str(leaf.pk)] = str(root.pk)
            leaf_objects.append(leaf)
    items = []
    for n in range(n_products):
        leaf = leaf_objects[n % len(leaf_objects)]
        price = Decimal(int(rng.integers(5, 300)))
        items.append(
            Item(
                name=f"{leaf.name} item {n}",
                blurb=f"A {leaf.name.lower()} product",
                category=leaf,
                price=price,
            )
        )
    Item.objects.bulk_create(items, batch_size=1000)
    by_leaf: dict[str, list[str]] = {leaf: [] for leaf in leaves}
    for pk, category_id in Item.objects.order_by("name").values_list("pk", "category_id"):
        by_leaf[str(category_id)].append(str(pk))
    return by_leaf, leaves


def _history(
    shop: Shop, by_leaf: dict[str, list[str]], n_visitors: int, rng: np.random.Generator
) -> Iterator:
    """Each visitor: one or two favourite leaves (the second in the same root half the time),
    sessions of views with Zipf popularity inside a leaf, some carts and purchases; oldest first,
    so the live state's recent list ends newest first as in a real shop."""
    from django.utils import timezone

    from recommendations.schema import EventIn

    leaves = list(by_leaf)
    zipf = {leaf: 1.0 / np.arange(1, len(items) + 1) ** 1.1 for leaf, items in by_leaf.items()}
    for leaf in zipf:
        zipf[leaf] /= zipf[leaf].sum()
    now = timezone.now()
    for v in range(n_visitors):
        visitor = uuid.UUID(int=int(rng.integers(1 << 62)) << 64 | v)
        shop.visitors.append(visitor)
        first = leaves[int(rng.integers(len(leaves)))]
        if rng.random() < 0.5:
            same_root = [leaf for leaf in leaves if shop.root_of_leaf[leaf] == shop.root_of_leaf[first]]
            second = same_root[int(rng.integers(len(same_root)))]
        else:
            second = leaves[int(rng.integers(len(leaves)))]
        favourites = [first, second]
        shop.touched_roots[visitor] = {shop.root_of_leaf[leaf] for leaf in favourites}
        at = now - timedelta(days=float(rng.uniform(0.2, 14.0)))
        for session in range(int(rng.integers(1, 4))):
            order = f"o-{v}-{session}"
            for _ in range(int(rng.integers(4, 12))):
                leaf = favourites[int(rng.random() < 0.35)]
                product = by_leaf[leaf][int(rng.choice(len(by_leaf[leaf]), p=zipf[leaf]))]
                at += timedelta(seconds=float(rng.uniform(5, 90)))
                yield EventIn(kind="view", product_id=product, visitor_id=visitor, created_at=at)
                roll = rng.random()
                if roll < 0.12:
                    yield EventIn(
                        kind="add_to_cart", product_id=product, visitor_id=visitor, created_at=at, quantity=1
                    )
                if roll < 0.05:
                    yield EventIn(
                        kind="purchase",
                        product_id=product,
                        visitor_id=visitor,
                        created_at=at + timedelta(seconds=30),
                        quantity=1,
                        unit_price=Decimal("10"),
                        order_id=order,
                    )
            at += timedelta(hours=float(rng.uniform(2, 48)))
            if at > now - timedelta(minutes=5):
                break


def seed(n_products: int, n_visitors: int, seed_value: int = 7) -> Shop:
    """Flush, seed the catalogue and the history (database + live state), rebuild the models."""
    from recommendations.models import Event
    from recommendations.tracking.bulk import import_events
    from recommendations.training.pipeline import rebuild

    rng = np.random.default_rng(seed_value)
    started = time.perf_counter()
    reset()
    by_leaf, root_of_leaf = _catalogue(n_products, rng)
    shop = Shop(
        leaf_of={pid: leaf for leaf, pids in by_leaf.items() for pid in pids},
        root_of_leaf=root_of_leaf,
        popular_in_leaf={},
        visitors=[],
    )
    shop.seconds["catalogue"] = time.perf_counter() - started
    started = time.perf_counter()
    shop.events = import_events(_history(shop, by_leaf, n_visitors, rng), batch_size=IMPORT_BATCH)
    shop.seconds["history"] = time.perf_counter() - started
    started = time.perf_counter()
    rebuild()
    shop.seconds["rebuild"] = time.perf_counter() - started
    views = dict(
        Event.objects.filter(kind="view")
        .values("product")
        .annotate(n=Count("id"))
        .values_list("product", "n")
    )
    for leaf, pids in by_leaf.items():
        shop.popular_in_leaf[leaf] = sorted(pids, key=lambda pid: -views.get(uuid.UUID(pid), 0))
    return shop
