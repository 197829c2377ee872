"""Seed the demo shop end to end. Deterministic for a given seed, and safe to run twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from recommendations import modelstore as storage
from recommendations import tasks as dispatch
from recommendations.models import Event
from recommendations.tracking.bulk import import_events

from ..models import Brand, Category, Order, Product
from . import catalogue, history, orders, shoppers

IMPORT_BATCH = 5000


@dataclass(frozen=True)
class SeedReport:
    categories: int
    brands: int
    products: int
    shoppers: int
    orders: int
    events_generated: int
    events_written: int
    model_version: int | None  # the active recommendation models after seeding (None: not trained)
    portraits: int | None = None  # portraits built after seeding (None: not built, or left to workers)


def flush_demo() -> None:
    """Delete the catalogue, the orders, the seeded shoppers and every recommendations event."""
    with transaction.atomic():
        Event.objects.all().delete()
        Order.objects.all().delete()
        Product.objects.all().delete()
        Brand.objects.all().delete()
        Category.objects.filter(parent__isnull=False).delete()
        Category.objects.all().delete()
        get_user_model().objects.filter(username__startswith=shoppers.SHOPPER_PREFIX, is_staff=False).delete()


def train_models(*, force: bool = False, say: Callable[[str], None] | None = None) -> int | None:
    """Make sure recommendation models are trained: rebuild when ``force`` or none is active yet.

    The rebuild goes through Celery as a shop's would (``recommendations.rebuild_models`` and its
    similarity chord). On the embedded defaults tasks run eagerly, so the demo serves trained
    models right after seeding; with a broker the workers build it and this returns at once.
    """
    storage.clear_cache()  # the seed may have replaced the database under a cached version id
    active = storage.active_version_id()
    if active is not None and not force:
        return active
    if not Event.objects.exists():
        return active
    if say is not None:
        say("Training recommendation models through Celery (recommendations.rebuild_models)...")
    dispatch.rebuild_via_celery()
    if not dispatch.eager():
        if say is not None:
            say("Rebuild enqueued: the Celery workers will swap the new models in.")
        return active
    storage.clear_cache()
    return storage.active_version_id()


def build_portraits(*, say: Callable[[str], None] | None = None) -> int | None:
    """Build every shopper's portrait (the admin's Portraits list) through Celery, as the nightly
    ``recommendations.rebuild_portraits`` would: the seeded history goes in through the bulk import,
    which schedules no per-shopper rebuild. Eager (embedded defaults): built before this returns,
    and the number built is returned; with a broker the workers build them (None)."""
    if not Event.objects.exists():
        return 0
    if say is not None:
        say("Building shopper portraits through Celery (recommendations.rebuild_portraits)...")
    if not dispatch.eager():
        dispatch.run(dispatch.rebuild_portraits.s())
        if say is not None:
            say("Portrait rebuild enqueued: the Celery workers will build them.")
        return None
    return int(dispatch.run(dispatch.rebuild_portraits.s())["built"])


def seed_demo(
    *,
    n_products: int = 2000,
    n_categories: int = 30,
    n_shoppers: int = 500,
    seed: int = 42,
    flush: bool = False,
    progress: bool = False,
    train: bool = True,
    portraits: bool = True,
) -> SeedReport:
    """Seed the shop; with ``train`` (default) end with trained models, rebuilt when events were new,
    and with ``portraits`` (default) with every shopper's portrait built."""
    if flush:
        flush_demo()
    rng = np.random.default_rng(seed)
    now = timezone.now()
    shoppers.ensure_admin()

    plan = catalogue.plan_catalogue(rng, n_products=n_products, n_categories=n_categories, now=now)
    shopper_loop = tqdm(range(n_shoppers), desc="Simulating shoppers", unit="shopper", disable=not progress)
    sim = history.simulate(
        rng, plan, n_shoppers=n_shoppers, n_guests=n_shoppers // 2, now=now, progress=shopper_loop
    )
    joined = [sim.first_seen[i] - timedelta(days=float(rng.uniform(1, 120))) for i in range(n_shoppers)]
    people = shoppers.plan_shoppers(rng, n_shoppers, joined)

    with transaction.atomic():
        product_ids = catalogue.write_catalogue(plan)
        user_by_name = shoppers.write_shoppers(people)
        user_ids = [user_by_name[p.username] for p in people]
        order_ids = orders.write_orders(
            sim.orders,
            seed=seed,
            now=now,
            plan=plan,
            product_ids=product_ids,
            user_ids=user_ids,
            full_names=[f"{p.first_name} {p.last_name}" for p in people],
        )

    records = orders.event_ins(
        sim, seed=seed, plan=plan, product_ids=product_ids, user_ids=user_ids, order_ids=order_ids
    )
    written = 0
    with tqdm(total=len(sim.events), desc="Importing events", unit="event", disable=not progress) as bar:
        while batch := list(islice(records, IMPORT_BATCH)):
            written += import_events(batch, batch_size=IMPORT_BATCH)
            bar.update(len(batch))

    model_version = None
    if train:
        model_version = train_models(force=written > 0 or flush, say=tqdm.write if progress else None)
    built = None
    if portraits:
        built = build_portraits(say=tqdm.write if progress else None)

    return SeedReport(
        categories=len(plan.leaves),
        brands=len(plan.brands),
        products=len(plan.products),
        shoppers=n_shoppers,
        orders=len(sim.orders),
        events_generated=len(sim.events),
        events_written=written,
        model_version=model_version,
        portraits=built,
    )
