"""The shop's product model and the adapter that reads it.

The app never assumes field names: a :class:`ProductAdapter` tells it how to read a title, the
category path, the brand, the price, availability and URLs from the shop's product. The default
adapter looks for common attribute names; a shop overrides it with
``RECOMMENDATIONS_PRODUCT_ADAPTER = "myshop.adapters.MyAdapter"``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models

from recommendations.conf import app_settings, built_from


def get_product_model() -> type[models.Model]:
    """The model named by ``RECOMMENDATIONS_PRODUCT_MODEL`` (like ``get_user_model()``)."""
    label = app_settings.PRODUCT_MODEL
    if not label:
        raise ImproperlyConfigured("RECOMMENDATIONS_PRODUCT_MODEL must be set, e.g. 'catalog.Product'.")
    try:
        return apps.get_model(label, require_ready=False)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"RECOMMENDATIONS_PRODUCT_MODEL must be of the form 'app_label.ModelName', not {label!r}."
        ) from exc
    except LookupError as exc:
        raise ImproperlyConfigured(
            f"RECOMMENDATIONS_PRODUCT_MODEL refers to model {label!r} that has not been installed."
        ) from exc


def _first_attr(obj: Any, names: Sequence[str], default: Any = None) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value() if callable(value) and not isinstance(value, models.Model) else value
    return default


class ProductAdapter:
    """Reads facts about a product. Subclass and override what your model spells differently.

    Every method takes a product instance. ``select_related`` lists relations to fetch with the
    products so reading categories and brands costs no extra queries.
    """

    select_related: tuple[str, ...] = ()

    def queryset(self) -> models.QuerySet:
        qs = get_product_model()._default_manager.all()
        return qs.select_related(*self.select_related) if self.select_related else qs

    def title(self, product: Any) -> str:
        return str(_first_attr(product, ("title", "name"), default=product))

    def description(self, product: Any) -> str:
        return str(_first_attr(product, ("description", "summary"), default="") or "")

    def categories(self, product: Any) -> list[str]:
        """Category path from the root to the product's own category, as strings."""
        category = getattr(product, "category", None)
        path: list[str] = []
        while category is not None and len(path) < 16:
            path.append(self.category_key(category))
            category = getattr(category, "parent", None)
        return path[::-1]

    def category_key(self, category: Any) -> str:
        """The string that names a category object in ``categories()`` (its pk by default;
        override both together, e.g. to use slugs)."""
        return str(getattr(category, "pk", category))

    def brand(self, product: Any) -> str | None:
        brand = getattr(product, "brand", None)
        return None if brand is None else str(getattr(brand, "pk", brand))

    def brand_label(self, product: Any) -> str | None:
        """The brand as people read it (its ``name``/``title``, else ``str()``), where ``brand()``
        is the key (pk or slug) the models use. Override both together."""
        brand = getattr(product, "brand", None)
        if brand is None:
            return None
        label = _first_attr(brand, ("name", "title")) if not isinstance(brand, str | int) else None
        return str(label if label is not None else brand)

    def price(self, product: Any) -> Decimal | None:
        value = _first_attr(product, ("price", "unit_price"))
        return None if value is None else Decimal(str(value))

    def is_available(self, product: Any) -> bool:
        if getattr(product, "is_active", True) is False:
            return False
        stock = getattr(product, "stock", None)
        if stock is not None and stock <= 0:
            return False
        return bool(getattr(product, "in_stock", True))

    def image_url(self, product: Any) -> str | None:
        image = _first_attr(product, ("image_url", "image"))
        if image is None:
            return None
        return getattr(image, "url", None) or str(image) or None

    def url(self, product: Any) -> str:
        get_url = getattr(product, "get_absolute_url", None)
        return get_url() if callable(get_url) else ""


@built_from("PRODUCT_MODEL", "PRODUCT_ADAPTER")
def get_adapter() -> ProductAdapter:
    """The shop's product adapter (one per process, rebuilt when its settings change)."""
    return app_settings.PRODUCT_ADAPTER()


def product_key(value: Any) -> str:
    """The canonical string form of a product primary key (what events and models store)."""
    pk_field = get_product_model()._meta.pk
    try:
        return str(pk_field.to_python(getattr(value, "pk", value)))
    except ValidationError as exc:
        raise ValueError(f"{value!r} is not a valid product id") from exc


def product_keys(values: Iterable[Any]) -> dict[Any, str | None]:
    """:func:`product_key` of each value with one model lookup; ``None`` for invalid ids."""
    pk_field = get_product_model()._meta.pk
    keys: dict[Any, str | None] = {}
    for value in values:
        try:
            keys[value] = str(pk_field.to_python(getattr(value, "pk", value)))
        except ValidationError:
            keys[value] = None
    return keys


def pk_values(ids: Iterable[str]) -> list[Any]:
    """Primary-key values for the ids that are valid keys of the product model (others skipped)."""
    pk_field = get_product_model()._meta.pk
    keys = []
    for pid in ids:
        try:
            keys.append(pk_field.to_python(pid))
        except ValidationError:
            continue
    return keys


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """The catalogue facts the live state and the models need, cached in process."""

    id: str
    categories: tuple[str, ...]
    brand: str | None
    price: float | None
    available: bool

    @property
    def category(self) -> str | None:
        return self.categories[-1] if self.categories else None


@dataclass(frozen=True, slots=True)
class ProductDisplay:
    """What a rendered item shows of a product (the adapter's title, URL, image and price)."""

    title: str
    url: str
    image_url: str | None
    price: Decimal | None


_MISSING: Any = object()


class ProductInfoCache:
    """A small time-bounded cache of :class:`ProductInfo` and :class:`ProductDisplay` keyed by
    product id (thread-safe). One query loads both records of every missing product, so showing
    the items the serving core has just checked for availability costs no query.

    Saving or deleting a product invalidates its entry in this process (the receivers); other
    processes see the change within ``ttl`` seconds."""

    def __init__(self, ttl: float, max_size: int = 100_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._data: dict[str, tuple[float, ProductInfo | None]] = {}
        self._display: dict[str, ProductDisplay | None] = {}  # valid while the _data entry is
        self._lock = threading.Lock()

    def _fetch(self, ids: Iterable[str], display: bool) -> dict[str, Any]:
        now = time.monotonic()
        found: dict[str, Any] = {}
        missing: list[str] = []
        for pid in ids:
            hit = self._data.get(pid)
            shown = self._display.get(pid, _MISSING) if display else None
            if hit is not None and hit[0] > now and shown is not _MISSING:
                found[pid] = shown if display else hit[1]
            else:
                missing.append(pid)
        if missing:
            loaded = self._load(missing)
            with self._lock:
                if len(self._data) + len(loaded) > self.max_size:
                    self._data.clear()
                    self._display.clear()
                for pid in missing:
                    info, shown = loaded.get(pid, (None, None))
                    self._data[pid] = (now + self.ttl, info)
                    self._display[pid] = shown
                    found[pid] = shown if display else info
        return found

    def get_many(self, ids: Iterable[str]) -> dict[str, ProductInfo | None]:
        """Info for each id; ``None`` for ids that name no product. One query for all misses."""
        return self._fetch(ids, display=False)

    def get_display_many(self, ids: Iterable[str]) -> dict[str, ProductDisplay | None]:
        """Display fields for each id; ``None`` for ids that name no product. One query for all
        misses (none when the ids were just checked with :meth:`get_many`)."""
        return self._fetch(ids, display=True)

    def invalidate(self, pid: str | None = None) -> None:
        with self._lock:
            if pid is None:
                self._data.clear()
                self._display.clear()
            else:
                self._data.pop(pid, None)
                self._display.pop(pid, None)

    @staticmethod
    def _load(ids: list[str]) -> dict[str, tuple[ProductInfo, ProductDisplay]]:
        adapter = get_adapter()
        out: dict[str, tuple[ProductInfo, ProductDisplay]] = {}
        for product in adapter.queryset().filter(pk__in=pk_values(ids)):
            price = adapter.price(product)
            key = str(product.pk)
            info = ProductInfo(
                id=key,
                categories=tuple(adapter.categories(product)),
                brand=adapter.brand(product),
                price=None if price is None else float(price),
                available=adapter.is_available(product),
            )
            display = ProductDisplay(
                title=adapter.title(product),
                url=adapter.url(product),
                image_url=adapter.image_url(product),
                price=price,
            )
            out[key] = (info, display)
        return out


def product_titles(ids: Iterable[str]) -> dict[str, str]:
    """Product id -> title for the ids that name a product (one query); others (a category id in
    evidence, an ad click without a product, a malformed key) are left out, never an error."""
    adapter = get_adapter()
    return {str(p.pk): adapter.title(p) for p in adapter.queryset().filter(pk__in=pk_values(ids))}


@built_from("PRODUCT_MODEL", "PRODUCT_ADAPTER", "PRODUCT_INFO_TTL_SECONDS")
def product_cache() -> ProductInfoCache:
    """The process-wide cache of product facts and display fields."""
    return ProductInfoCache(ttl=app_settings.PRODUCT_INFO_TTL_SECONDS)


def product_info(ids: Iterable[str]) -> dict[str, ProductInfo | None]:
    """Cached catalogue facts for product ids (``None`` marks an unknown product)."""
    return product_cache().get_many(ids)


def product_display(ids: Iterable[str]) -> dict[str, ProductDisplay | None]:
    """Cached display fields for product ids (``None`` marks an unknown product)."""
    return product_cache().get_display_many(ids)
