"""Simulate ~60 days of shopping: sessions of searches, views, cart changes and purchases.

Each shopper has a Dirichlet category affinity and an activity level; a session has an intent
(a category, sometimes reached through a search), views products by popularity, adds some to the
cart, may remove some, and may check out, often with an accessory from a complementary category
(so "bought together" has something real to find). Carts persist across a shopper's sessions.
Anonymous visitors browse too and sometimes buy as guests. Pure simulation: no database here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from . import words
from .catalogue import CataloguePlan

HISTORY_DAYS = 60
VIEW_TO_CART = 0.08
CART_REMOVAL = 0.12
CHECKOUT_SHOPPER = 0.45
CHECKOUT_GUEST = 0.30
ACCESSORY = 0.4
SEARCH_START = 0.3
HEAVY_SHOPPERS = 3

# fmt: off
# Accessories bought with a category; a missing target falls back to a sibling category.
COMPLEMENTS = {
    "Headphones": "Chargers & Cables", "Smartphones": "Chargers & Cables", "Laptops": "Bags",
    "Cameras": "Bags", "Smart Home": "Lighting", "Chargers & Cables": "Smartphones",
    "Cookware": "Kitchen Knives", "Coffee & Tea": "Cookware", "Kitchen Knives": "Cookware",
    "Bedding": "Lighting", "Lighting": "Smart Home", "Storage": "Bedding",
    "Running Shoes": "Socks & Underwear", "Camping": "Hiking", "Cycling": "Hiking",
    "Yoga & Fitness": "Vitamins", "Swimming": "Hair Care", "Hiking": "Camping",
    "T-Shirts": "Sneakers", "Jackets": "T-Shirts", "Sneakers": "Socks & Underwear", "Bags": "Watches",
    "Watches": "Bags", "Socks & Underwear": "T-Shirts",
    "Fiction": "Notebooks & Stationery", "Cookbooks": "Cookware", "Science & Nature": "Notebooks & Stationery",
    "Children's Books": "Board Games", "Board Games": "Children's Books", "Notebooks & Stationery": "Fiction",
    "Skincare": "Bath & Body", "Hair Care": "Bath & Body", "Fragrance": "Skincare", "Vitamins": "Oral Care",
    "Oral Care": "Vitamins", "Bath & Body": "Skincare",
}
# Evening-heavy traffic, quiet at night.
HOUR_WEIGHTS = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.2, 2.5, 2.6, 2.8, 3.2, 3.0, 2.7, 2.6, 2.8, 3.2, 3.8, 4.5, 4.8, 4.2, 3.0, 1.8]
)
# fmt: on
HOUR_WEIGHTS = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()


@dataclass
class SimEvent:
    kind: str
    visitor: uuid.UUID
    at: datetime
    shopper: int | None = None  # index of the shopper; None when anonymous
    product: int | None = None  # index into plan.products
    query: str = ""
    result_count: int | None = None
    quantity: int | None = None
    unit_price: Decimal | None = None
    order: int | None = None  # index into History.orders
    seq: int = 0  # generation order: the stable part of the event's idempotency key


@dataclass
class SimOrder:
    shopper: int | None
    email: str
    address: str
    at: datetime
    lines: list[tuple[int, int, Decimal]]  # (product index, quantity, unit price)

    @property
    def total(self) -> Decimal:
        return sum((price * qty for _, qty, price in self.lines), Decimal("0"))


@dataclass
class History:
    events: list[SimEvent] = field(default_factory=list)
    orders: list[SimOrder] = field(default_factory=list)
    first_seen: dict[int, datetime] = field(default_factory=dict)  # shopper index -> first session


class Simulator:
    def __init__(self, rng: np.random.Generator, plan: CataloguePlan, now: datetime) -> None:
        self.rng = rng
        self.plan = plan
        self.now = now
        self.history = History()
        n_leaves = len(plan.leaves)
        self.popularity = np.array([p.popularity for p in plan.products])
        self.active = np.array([p.is_active for p in plan.products])
        self.available = np.array([p.available for p in plan.products])
        leaf_of = np.array([p.leaf for p in plan.products])
        self.leaf_products = [np.flatnonzero((leaf_of == i) & self.active) for i in range(n_leaves)]
        sizes = np.array([len(ix) for ix in self.leaf_products], dtype=float)
        self.leaf_weight = sizes / sizes.sum()
        by_name = {leaf.spec.name: leaf.index for leaf in plan.leaves}
        self.siblings = [
            [
                other.index
                for other in plan.leaves
                if other.department == leaf.department and other is not leaf
            ]
            for leaf in plan.leaves
        ]
        self.complement = []
        for leaf in plan.leaves:
            target = by_name.get(COMPLEMENTS.get(leaf.spec.name, ""))
            if target is None:
                target = self.siblings[leaf.index][0] if self.siblings[leaf.index] else leaf.index
            self.complement.append(target)
        brand_names = [name for name, _ in plan.brands]
        self.haystacks = [f"{p.name} {p.description} {brand_names[p.brand]}".lower() for p in plan.products]
        self._search_cache: dict[str, np.ndarray] = {}

    # --- building blocks ----------------------------------------------------------------------

    def _pick(self, candidates: np.ndarray) -> int | None:
        if len(candidates) == 0:
            return None
        weights = self.popularity[candidates]
        return int(candidates[self.rng.choice(len(candidates), p=weights / weights.sum())])

    def _partner(self, product: int) -> int | None:
        """The accessory usually bought with ``product``: a stable partner, sometimes a popular one."""
        pool = self.leaf_products[self.complement[self.plan.products[product].leaf]]
        pool = pool[self.available[pool]]
        if len(pool) == 0:
            return None
        if self.rng.random() < 0.65:
            top = pool[np.argsort(-self.popularity[pool])][:6]
            return int(top[(product * 7919) % len(top)])
        return self._pick(pool)

    def search_results(self, query: str) -> np.ndarray:
        """Products the shop's search would return (every word in name, description or brand)."""
        if query not in self._search_cache:
            terms = query.lower().split()
            hits = [i for i, text in enumerate(self.haystacks) if all(t in text for t in terms)]
            hits_arr = np.array(hits, dtype=int)
            self._search_cache[query] = hits_arr[self.active[hits_arr]] if len(hits_arr) else hits_arr
        return self._search_cache[query]

    def _query_for(self, leaf: int) -> str:
        """What a shopper with this intent types: "jacket", "puffer jacket", "waterproof jacket"."""
        spec = self.plan.leaves[leaf].spec
        noun = spec.nouns[int(self.rng.integers(len(spec.nouns)))].lower()
        roll = self.rng.random()
        if roll < 0.35:
            return noun.split()[-1]
        if roll < 0.8:
            return noun
        qualifier = spec.qualifiers[int(self.rng.integers(len(spec.qualifiers)))].lower()
        return f"{qualifier} {noun.split()[-1]}"

    def _session_starts(self, n: int) -> list[datetime]:
        days = self.rng.integers(0, HISTORY_DAYS, size=n)
        hours = self.rng.choice(24, size=n, p=HOUR_WEIGHTS)
        minutes = self.rng.integers(0, 60, size=n)
        midnight = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        starts = [
            midnight - timedelta(days=int(d)) + timedelta(hours=int(h), minutes=int(m))
            for d, h, m in zip(days, hours, minutes, strict=True)
        ]
        # Today's sessions cannot be in the future.
        starts = [s if s < self.now - timedelta(hours=1) else s - timedelta(days=1) for s in starts]
        return sorted(starts)

    # --- sessions -----------------------------------------------------------------------------

    def _emit(self, **kwargs) -> None:
        self.history.events.append(SimEvent(**kwargs, seq=len(self.history.events)))

    def session(
        self,
        *,
        affinity: np.ndarray,
        visitor: uuid.UUID,
        start: datetime,
        shopper: int | None,
        cart: dict[int, int],
        email: str,
        address: str,
    ) -> None:
        rng = self.rng
        t = start
        intent = int(rng.choice(len(affinity), p=affinity))
        candidates = self.leaf_products[intent]
        if rng.random() < SEARCH_START:
            query = self._query_for(intent)
            results = self.search_results(query)
            self._emit(
                kind="search", visitor=visitor, at=t, shopper=shopper, query=query, result_count=len(results)
            )
            if len(results):
                candidates = results
            t += timedelta(seconds=float(rng.uniform(5, 30)))

        n_views = min(1 + int(rng.geometric(0.3)), 15)
        for _ in range(n_views):
            roll = rng.random()
            if roll < 0.75 or not self.siblings[intent]:
                pool = candidates
            elif roll < 0.9:
                pool = self.leaf_products[int(rng.choice(self.siblings[intent]))]
            else:
                pool = self.leaf_products[int(rng.choice(len(affinity), p=affinity))]
            product = self._pick(pool)
            if product is None:
                continue
            self._emit(kind="view", visitor=visitor, at=t, shopper=shopper, product=product)
            t += timedelta(seconds=float(rng.lognormal(3.6, 0.7)))
            if self.available[product] and rng.random() < VIEW_TO_CART:
                qty = 1 if rng.random() < 0.88 else 2
                cart[product] = cart.get(product, 0) + qty
                price = self.plan.products[product].price
                self._emit(
                    kind="add_to_cart",
                    visitor=visitor,
                    at=t,
                    shopper=shopper,
                    product=product,
                    quantity=qty,
                    unit_price=price,
                )
                t += timedelta(seconds=float(rng.uniform(3, 20)))

        for product in list(cart):
            if rng.random() < CART_REMOVAL:
                self._emit(
                    kind="remove_from_cart",
                    visitor=visitor,
                    at=t,
                    shopper=shopper,
                    product=product,
                    quantity=cart.pop(product),
                )
                t += timedelta(seconds=float(rng.uniform(3, 15)))

        conversion = CHECKOUT_SHOPPER if shopper is not None else CHECKOUT_GUEST
        if not cart or rng.random() >= conversion:
            return
        if rng.random() < ACCESSORY:
            anchor = max(cart, key=lambda p: self.plan.products[p].price)
            extra = self._partner(anchor)
            if extra is not None and extra not in cart:
                self._emit(kind="view", visitor=visitor, at=t, shopper=shopper, product=extra)
                t += timedelta(seconds=float(rng.uniform(10, 60)))
                cart[extra] = 1
                self._emit(
                    kind="add_to_cart",
                    visitor=visitor,
                    at=t,
                    shopper=shopper,
                    product=extra,
                    quantity=1,
                    unit_price=self.plan.products[extra].price,
                )
                t += timedelta(seconds=float(rng.uniform(5, 30)))
        t += timedelta(seconds=float(rng.uniform(60, 240)))  # checkout form
        lines = [(p, q, self.plan.products[p].price) for p, q in cart.items()]
        order = len(self.history.orders)
        self.history.orders.append(SimOrder(shopper, email, address, t, lines))
        for product, qty, price in lines:
            self._emit(
                kind="purchase",
                visitor=visitor,
                at=t,
                shopper=shopper,
                product=product,
                quantity=qty,
                unit_price=price,
                order=order,
            )
        cart.clear()

    def _address(self) -> str:
        street = words.STREETS[int(self.rng.integers(len(words.STREETS)))]
        city = words.CITIES[int(self.rng.integers(len(words.CITIES)))]
        return f"{int(self.rng.integers(1, 200))} {street}, {city}"

    def _affinity(self) -> np.ndarray:
        personal = self.rng.dirichlet(np.full(len(self.leaf_weight), 0.25))
        mixed = 0.9 * personal + 0.1 * self.leaf_weight
        return mixed / mixed.sum()

    def _visitor_id(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.rng.bytes(16), version=4)

    def shopper(self, index: int) -> None:
        affinity = self._affinity()
        activity = min(self.rng.lognormal(np.log(4.0), 0.8), 40.0)
        if index < HEAVY_SHOPPERS:
            activity = max(activity, 12.0)  # shopper1.. are the logins the demo points people at
        starts = self._session_starts(1 + int(self.rng.poisson(activity)))
        devices = [self._visitor_id() for _ in range(1 if self.rng.random() < 0.7 else 2)]
        email, address = f"shopper{index + 1}@example.com", self._address()
        cart: dict[int, int] = {}
        self.history.first_seen[index] = starts[0]
        for start in starts:
            visitor = devices[int(self.rng.integers(len(devices)))]
            self.session(
                affinity=affinity,
                visitor=visitor,
                start=start,
                shopper=index,
                cart=cart,
                email=email,
                address=address,
            )

    def guest(self, index: int) -> None:
        affinity = self._affinity()
        visitor = self._visitor_id()
        email, address = f"guest{index + 1}@example.com", self._address()
        cart: dict[int, int] = {}
        for start in self._session_starts(1 + int(self.rng.poisson(0.6))):
            self.session(
                affinity=affinity,
                visitor=visitor,
                start=start,
                shopper=None,
                cart=cart,
                email=email,
                address=address,
            )


def simulate(
    rng: np.random.Generator,
    plan: CataloguePlan,
    *,
    n_shoppers: int,
    n_guests: int,
    now: datetime,
    progress: Iterable[int] | None = None,
) -> History:
    """Run every shopper, then every guest; ``progress`` wraps the shopper loop (e.g. tqdm)."""
    sim = Simulator(rng, plan, now)
    for index in progress if progress is not None else range(n_shoppers):
        sim.shopper(index)
    for index in range(n_guests):
        sim.guest(index)
    sim.history.events.sort(key=lambda e: e.at)
    return sim.history
