"""Store simulated orders as real ``Order`` rows, and the simulated history as app events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from recommendations.schema import EventIn

from ..models import Order, OrderLine
from .catalogue import CataloguePlan
from .history import History, SimOrder


def reference(seed: int, index: int) -> str:
    return f"S{seed}-{index + 1:06d}"


def _status(at: datetime, now: datetime) -> str:
    age = now - at
    if age > timedelta(days=7):
        return Order.Status.DELIVERED
    if age > timedelta(days=2):
        return Order.Status.SHIPPED
    return Order.Status.PAID


def write_orders(
    orders: list[SimOrder],
    *,
    seed: int,
    now: datetime,
    plan: CataloguePlan,
    product_ids: dict[str, int],
    user_ids: list[int],
    full_names: list[str],
) -> list[int]:
    """Create the orders that do not exist yet (keyed by reference); returns their pks in order."""
    refs = [reference(seed, i) for i in range(len(orders))]
    existing: set[str] = set()
    for start in range(0, len(refs), 900):
        existing.update(
            Order.objects.filter(reference__in=refs[start : start + 900]).values_list("reference", flat=True)
        )
    new = [i for i, ref in enumerate(refs) if ref not in existing]
    Order.objects.bulk_create(
        [
            Order(
                reference=refs[i],
                user_id=None if orders[i].shopper is None else user_ids[orders[i].shopper],
                email=orders[i].email,
                full_name="" if orders[i].shopper is None else full_names[orders[i].shopper],
                address=orders[i].address,
                status=_status(orders[i].at, now),
                total=orders[i].total,
                payment_reference=f"pay_seed_{refs[i].lower()}",
                created_at=orders[i].at,
            )
            for i in new
        ],
        batch_size=500,
    )
    pk_by_ref: dict[str, int] = {}
    for start in range(0, len(refs), 900):
        pk_by_ref.update(
            Order.objects.filter(reference__in=refs[start : start + 900]).values_list("reference", "pk")
        )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order_id=pk_by_ref[refs[i]],
                product_id=product_ids[plan.products[p].slug],
                product_name=plan.products[p].name,
                quantity=qty,
                unit_price=price,
            )
            for i in new
            for p, qty, price in orders[i].lines
        ],
        batch_size=1000,
    )
    return [pk_by_ref[ref] for ref in refs]


def event_ins(
    history: History,
    *,
    seed: int,
    plan: CataloguePlan,
    product_ids: dict[str, int],
    user_ids: list[int],
    order_ids: list[int],
) -> Iterator[EventIn]:
    """The history as the app's import records, each with a deterministic ``event_id``."""
    for event in history.events:
        yield EventIn(
            kind=event.kind,
            product_id=None if event.product is None else str(product_ids[plan.products[event.product].slug]),
            user_id=None if event.shopper is None else user_ids[event.shopper],
            visitor_id=event.visitor,
            created_at=event.at,
            query=event.query,
            result_count=event.result_count,
            quantity=event.quantity,
            unit_price=event.unit_price,
            order_id="" if event.order is None else str(order_ids[event.order]),
            event_id=f"seed-{seed}-{event.seq}",
        )
