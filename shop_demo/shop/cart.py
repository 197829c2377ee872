"""A session cart: ``{product_id: quantity}`` stored under one session key.

Only storage lives here; what adding or removing *means* (stock limits, signals) is in ``services``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from .models import Product

SESSION_KEY = "cart"
MAX_QUANTITY = 20


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def unit_price(self) -> Decimal:
        return self.product.price

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity


class Cart:
    def __init__(self, session) -> None:
        self.session = session
        raw = session.get(SESSION_KEY) or {}
        self._items: dict[str, int] = {str(k): int(v) for k, v in raw.items() if int(v) > 0}

    def __len__(self) -> int:
        """Number of units, as shown on the header badge."""
        return sum(self._items.values())

    def __contains__(self, product_id: object) -> bool:
        return str(product_id) in self._items

    def quantity_of(self, product_id: object) -> int:
        return self._items.get(str(product_id), 0)

    def set(self, product_id: object, quantity: int) -> None:
        key = str(product_id)
        if quantity <= 0:
            self._items.pop(key, None)
        else:
            self._items[key] = min(quantity, MAX_QUANTITY)
        self._save()

    def clear(self) -> None:
        self._items = {}
        self._save()

    def product_ids(self) -> list[int]:
        return [int(k) for k in self._items]

    def lines(self) -> list[CartLine]:
        """Lines with their products, in the order they were added; vanished products are dropped."""
        products = Product.objects.with_relations().in_bulk(self.product_ids())
        return [CartLine(products[int(k)], q) for k, q in self._items.items() if int(k) in products]

    def __iter__(self) -> Iterator[CartLine]:
        return iter(self.lines())

    def _save(self) -> None:
        self.session[SESSION_KEY] = dict(self._items)
        self.session.modified = True


def cart_total(lines: list[CartLine]) -> Decimal:
    return sum((line.line_total for line in lines), Decimal("0"))
