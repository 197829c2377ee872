"""Write side of the shop: cart changes and checkout.

This is where a shop owner tells the recommendations app what happened, through its public signals
(``recommendations.signals``). Product views and searches need no code: the app's middleware records
them from ``RECOMMENDATIONS_TRACKED_VIEWS``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from recommendations.signals import added_to_cart, order_placed, removed_from_cart

from . import payments
from .cart import MAX_QUANTITY, Cart, CartLine, cart_total
from .models import Order, OrderLine, Product

logger = logging.getLogger(__name__)


class CheckoutError(Exception):
    """The order could not be placed; the message is safe to show to the shopper."""


def _user_or_none(request: HttpRequest):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def add_to_cart(request: HttpRequest, product: Product, quantity: int = 1) -> int:
    """Add up to ``quantity`` units (limited by stock); returns how many were actually added."""
    cart = Cart(request.session)
    current = cart.quantity_of(product.pk)
    target = min(current + max(quantity, 0), product.stock, MAX_QUANTITY) if product.is_active else current
    added = max(target - current, 0)
    if added:
        cart.set(product.pk, target)
        added_to_cart.send(
            sender=Cart, request=request, product=product, quantity=added, unit_price=product.price
        )
    return added


def remove_from_cart(request: HttpRequest, product: Product, quantity: int | None = None) -> int:
    """Remove ``quantity`` units (all of them when None); returns how many were removed."""
    cart = Cart(request.session)
    current = cart.quantity_of(product.pk)
    removed = current if quantity is None else min(max(quantity, 0), current)
    if removed:
        cart.set(product.pk, current - removed)
        removed_from_cart.send(sender=Cart, request=request, product=product, quantity=removed)
    return removed


def update_cart(request: HttpRequest, product: Product, quantity: int) -> None:
    """Set a line's quantity, reported to the app as the add or the removal it amounts to."""
    current = Cart(request.session).quantity_of(product.pk)
    if quantity > current:
        add_to_cart(request, product, quantity - current)
    elif quantity < current:
        remove_from_cart(request, product, current - quantity)


@dataclass(frozen=True)
class CheckoutDetails:
    email: str
    full_name: str
    address: str
    card_number: str


def new_order_reference() -> str:
    return "DS-" + secrets.token_hex(4).upper()


def place_order(request: HttpRequest, details: CheckoutDetails) -> Order:
    """Charge the card, create the order, take the stock and empty the cart, all or nothing.

    ``order_placed`` is sent only once the transaction has committed, so the app never records a
    purchase that was rolled back.
    """
    cart = Cart(request.session)
    lines: list[CartLine] = cart.lines()
    if not lines:
        raise CheckoutError("Your cart is empty.")

    with transaction.atomic():
        locked = Product.objects.select_for_update().in_bulk([line.product.pk for line in lines])
        for line in lines:
            product = locked.get(line.product.pk)
            if product is None or not product.is_active or product.stock < line.quantity:
                raise CheckoutError(f"Sorry, “{line.product.name}” no longer has enough stock.")
        total = cart_total(lines)
        payment = payments.charge(details.card_number, total)
        if not payment.approved:
            raise CheckoutError(payment.message)

        user = _user_or_none(request)
        order = Order.objects.create(
            reference=new_order_reference(),
            user=user,
            email=details.email,
            full_name=details.full_name,
            address=details.address,
            total=total,
            payment_reference=payment.reference,
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=line.product,
                product_name=line.product.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for line in lines
        )
        for line in lines:
            Product.objects.filter(pk=line.product.pk).update(stock=F("stock") - line.quantity)

        signal_lines = [(line.product, line.quantity, line.unit_price) for line in lines]
        transaction.on_commit(
            lambda: order_placed.send(
                sender=Order, request=request, order_id=str(order.pk), lines=signal_lines, user=user
            )
        )

    cart.clear()
    remember_order(request, order)
    logger.info("order %s placed: %s items, %s", order.reference, len(lines), total)
    return order


def remember_order(request: HttpRequest, order: Order) -> None:
    """Let a guest see their own confirmation page (and nobody else's)."""
    ids = request.session.get("orders", [])
    request.session["orders"] = [*ids[-19:], order.pk]


def can_view_order(request: HttpRequest, order: Order) -> bool:
    user = _user_or_none(request)
    if user is not None and order.user_id == user.pk:
        return True
    return order.pk in request.session.get("orders", [])
