"""Optional built-in hook to the shop's order model (``RECOMMENDATIONS_ORDER_MODEL``).

When set, a purchase event is recorded for every line of each newly created order, after the
transaction that created it commits (so the lines exist). Orders without a user cannot be tied to
a visitor from here: for guest checkout send ``order_placed`` with the request instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any


class OrderAdapter:
    """Reads an order. Override for other field names."""

    lines_attr = "lines"

    def order_id(self, order: Any) -> str:
        return str(order.pk)

    def user(self, order: Any) -> Any:
        return getattr(order, "user", None)

    def lines(self, order: Any) -> Iterable[tuple[Any, int, Decimal | None]]:
        for line in getattr(order, self.lines_attr).all():
            price = getattr(line, "unit_price", None)
            if price is None:
                price = getattr(line, "price", None)
            yield line.product_id, line.quantity, price
