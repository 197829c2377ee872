"""Generate and store the demo catalogue: departments, leaf categories, brands and products.

Generation is pure (a seeded numpy ``Generator`` in, plain dataclasses out); ``write_catalogue``
stores it idempotently, keyed by slug, so a second run with the same seed changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.utils.text import slugify

from ..models import Brand, Category, Product
from . import words

BOOK_LEAVES = frozenset({"Fiction", "Cookbooks", "Science & Nature", "Children's Books"})
# fmt: off
TITLE_ADJECTIVES = (
    "Quiet", "Golden", "Hidden", "Last", "Winter", "Salt", "Paper", "Silver", "Wild", "Long", "Little", "Bright",
)
TITLE_NOUNS = (
    "Orchard", "Harbour", "Lantern", "Garden", "River", "Kitchen", "Island", "Forest", "Summer", "Library",
    "Mountain", "Table", "Comet", "Bakery",
)
# fmt: on


@dataclass(frozen=True)
class LeafSeed:
    index: int
    department: int  # index into the departments that were used
    spec: words.LeafSpec
    slug: str


@dataclass(frozen=True)
class ProductSeed:
    slug: str
    name: str
    description: str
    leaf: int
    brand: int
    price: Decimal
    stock: int
    is_active: bool
    created_at: datetime
    popularity: float  # relative appeal inside its category; drives the simulated history

    @property
    def available(self) -> bool:
        return self.is_active and self.stock > 0


@dataclass(frozen=True)
class CataloguePlan:
    departments: list[words.DepartmentSpec]
    leaves: list[LeafSeed]
    brands: list[tuple[str, int]]  # (name, department index)
    products: list[ProductSeed]


def choose_leaves(n_categories: int) -> tuple[list[words.DepartmentSpec], list[LeafSeed]]:
    """Leaf categories taken round-robin across departments, so every department gets some."""
    if not 1 <= n_categories <= words.MAX_LEAVES:
        raise ValueError(f"--categories must be between 1 and {words.MAX_LEAVES}")
    picked: list[tuple[int, int]] = []  # (department, depth)
    depth = 0
    while len(picked) < n_categories:
        for d, dept in enumerate(words.DEPARTMENTS):
            if depth < len(dept.leaves) and len(picked) < n_categories:
                picked.append((d, depth))
        depth += 1
    picked.sort()
    used = sorted({d for d, _ in picked})
    departments = [words.DEPARTMENTS[d] for d in used]
    leaves = [
        LeafSeed(
            i, used.index(d), words.DEPARTMENTS[d].leaves[k], slugify(words.DEPARTMENTS[d].leaves[k].name)
        )
        for i, (d, k) in enumerate(picked)
    ]
    return departments, leaves


def brand_names(rng: np.random.Generator, n: int) -> list[str]:
    combos = [f + last for f in words.BRAND_FIRST for last in words.BRAND_LAST]
    order = rng.permutation(len(combos))
    names: list[str] = []
    for i in order[:n]:
        suffix = words.BRAND_SUFFIX[int(rng.integers(len(words.BRAND_SUFFIX)))]
        names.append(combos[int(i)].capitalize() + suffix)
    return names


def _price_point(value: float) -> Decimal:
    """Shop-like prices: $7.99, $24.99, $89.00, $449.00."""
    if value < 30:
        return Decimal(max(1, round(value))) - Decimal("0.01")
    if value < 200:
        return Decimal(max(5, round(value / 5) * 5)) - Decimal("0.01")
    return Decimal(round(value / 10) * 10) - Decimal("1.00")


def _product_name(rng: np.random.Generator, spec: words.LeafSpec, brand: str) -> str:
    noun = spec.nouns[int(rng.integers(len(spec.nouns)))]
    # "Wireless Wireless Earbuds" reads badly: skip qualifiers the noun already says.
    fitting = [q for q in spec.qualifiers if q.lower() not in noun.lower()] or [""]
    qualifier = fitting[int(rng.integers(len(fitting)))]
    if spec.name in BOOK_LEAVES:
        adjective = TITLE_ADJECTIVES[int(rng.integers(len(TITLE_ADJECTIVES)))]
        title_noun = TITLE_NOUNS[int(rng.integers(len(TITLE_NOUNS)))]
        kind = " ".join(w for w in (qualifier, noun) if w)
        return f"The {adjective} {title_noun} — {kind}"
    prefix = "".join(ch for ch in brand if ch.isupper())[:2] or brand[:2].upper()
    model = words.MODEL_CODES[int(rng.integers(len(words.MODEL_CODES)))]
    code = f"{prefix}-{int(rng.integers(1, 100)) * 10}" if rng.random() < 0.6 else model
    return " ".join(w for w in (brand.split(" ")[0], qualifier, noun, code) if w)


def _description(rng: np.random.Generator, spec: words.LeafSpec, name: str, brand: str) -> str:
    f1, f2, f3 = (spec.features[int(i)] for i in rng.choice(len(spec.features), size=3, replace=False))
    opener = words.DESCRIPTION_OPENERS[int(rng.integers(len(words.DESCRIPTION_OPENERS)))]
    closer = words.DESCRIPTION_CLOSERS[int(rng.integers(len(words.DESCRIPTION_CLOSERS)))]
    middle = f"Highlights include {f3}."
    return " ".join([opener.format(name=name, f1=f1, f2=f2), middle, closer.format(brand=brand)])


def plan_catalogue(
    rng: np.random.Generator, *, n_products: int, n_categories: int, now: datetime
) -> CataloguePlan:
    departments, leaves = choose_leaves(n_categories)
    n_brands = max(len(departments), min(80, n_products // 25))
    brands = [(name, i % len(departments)) for i, name in enumerate(brand_names(rng, n_brands))]
    brands_by_dept = [[b for b, (_, d) in enumerate(brands) if d == dept] for dept in range(len(departments))]

    # Uneven category sizes (some aisles are bigger), at least one product each.
    shares = rng.gamma(4.0, size=len(leaves))
    counts = np.maximum(1, np.floor(shares / shares.sum() * n_products)).astype(int)
    while counts.sum() > n_products:
        counts[int(np.argmax(counts))] -= 1
    for i in rng.integers(len(leaves), size=n_products - int(counts.sum())):
        counts[i] += 1

    brand_premium = rng.lognormal(0.0, 0.25, size=len(brands))
    products: list[ProductSeed] = []
    seen_names: set[str] = set()
    for leaf in leaves:
        pool = brands_by_dept[leaf.department]
        brand_weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.8  # a few brands dominate each aisle
        brand_weights /= brand_weights.sum()
        for _ in range(int(counts[leaf.index])):
            brand = pool[int(rng.choice(len(pool), p=brand_weights))]
            brand_name = brands[brand][0]
            name = _product_name(rng, leaf.spec, brand_name)
            while name in seen_names:
                name = _product_name(rng, leaf.spec, brand_name)
            seen_names.add(name)
            raw_price = (
                rng.lognormal(np.log(leaf.spec.median_price), leaf.spec.price_sigma) * brand_premium[brand]
            )
            stock = 0 if rng.random() < 0.05 else int(rng.gamma(2.0, 30.0)) + 1
            products.append(
                ProductSeed(
                    slug=f"{slugify(name)[:190]}-{len(products) + 1}",
                    name=name,
                    description=_description(rng, leaf.spec, name, brand_name),
                    leaf=leaf.index,
                    brand=brand,
                    price=_price_point(raw_price),
                    stock=stock,
                    is_active=rng.random() > 0.02,
                    created_at=now - timedelta(seconds=float(rng.uniform(0, 365 * 86400))),
                    popularity=float(rng.lognormal(0.0, 1.0)),
                )
            )
    return CataloguePlan(departments, leaves, brands, products)


def write_catalogue(plan: CataloguePlan) -> dict[str, int]:
    """Store the plan (existing slugs are left alone); returns product slug -> pk."""
    dept_rows = []
    for position, dept in enumerate(plan.departments):
        row, _ = Category.objects.get_or_create(
            slug=dept.slug, defaults={"name": dept.name, "parent": None, "position": position}
        )
        dept_rows.append(row)
    leaf_rows = []
    for leaf in plan.leaves:
        row, _ = Category.objects.get_or_create(
            slug=leaf.slug,
            defaults={"name": leaf.spec.name, "parent": dept_rows[leaf.department], "position": leaf.index},
        )
        leaf_rows.append(row)

    Brand.objects.bulk_create(
        [Brand(name=name, slug=slugify(name)) for name, _ in plan.brands], ignore_conflicts=True
    )
    brand_ids = dict(Brand.objects.filter(name__in=[n for n, _ in plan.brands]).values_list("name", "pk"))

    Product.objects.bulk_create(
        [
            Product(
                name=p.name,
                slug=p.slug,
                description=p.description,
                category=leaf_rows[p.leaf],
                brand_id=brand_ids[plan.brands[p.brand][0]],
                price=p.price,
                stock=p.stock,
                is_active=p.is_active,
                created_at=p.created_at,
            )
            for p in plan.products
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
    slugs = [p.slug for p in plan.products]
    ids: dict[str, int] = {}
    for start in range(0, len(slugs), 900):  # SQLite's variable limit
        ids.update(Product.objects.filter(slug__in=slugs[start : start + 900]).values_list("slug", "pk"))
    return ids
