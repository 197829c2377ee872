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


def get_order_model() -> type[Any] | None:
    """The model named by ``RECOMMENDATIONS_ORDER_MODEL``, or None when the hook is off.

    Raises ImproperlyConfigured naming the setting when it does not resolve, so a typo stops the
    start-up instead of silently recording no purchases."""
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    from recommendations.conf import app_settings

    label = app_settings.ORDER_MODEL
    if not label:
        return None
    try:
        return apps.get_model(label, require_ready=False)
    except (ValueError, AttributeError) as exc:
        raise ImproperlyConfigured(
            f"RECOMMENDATIONS_ORDER_MODEL must be of the form 'app_label.ModelName', not {label!r}."
        ) from exc
    except LookupError as exc:
        raise ImproperlyConfigured(
            f"RECOMMENDATIONS_ORDER_MODEL refers to model {label!r} that has not been installed."
        ) from exc
