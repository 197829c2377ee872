"""Receivers for the public inbound signals, login/logout and the optional order hook.

Each turns a signal into events for the recorder. Bad input from the shop (an unknown product)
is logged with the precise reason and never breaks the shop's own flow (its cart, its checkout).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from recommendations import signals
from recommendations.conf import app_settings
from recommendations.models import Event
from recommendations.schema import EventIn, EventValidationError
from recommendations.tracking.recorder import record
from recommendations.tracking.visitors import Visitor, get_visitor, refresh_user, start_new_visitor

logger = logging.getLogger(__name__)


def _visitor(request: Any, user: Any, visitor_id: uuid.UUID | str | None) -> Visitor:
    if request is not None:
        return get_visitor(request)
    if user is None and visitor_id is None:
        raise ValueError("Sent without a request: pass user= or visitor_id= so the event has an owner.")
    from recommendations.tracking.consent import user_opted_out

    return Visitor(
        visitor_id=uuid.UUID(str(visitor_id)) if visitor_id else None,  # type: ignore[arg-type]
        user=user,
        opted_out=user is not None and user_opted_out(user),
        is_bot=False,
        ip="",
        device="",
    )


def _record(events: Sequence[EventIn], request: Any, user: Any, visitor_id: Any, source: str) -> None:
    if not app_settings.ENABLED:
        return
    try:
        record(events, source=source, visitor=_visitor(request, user, visitor_id))
    except EventValidationError as exc:
        logger.error("recommendations: event not recorded: %s", exc)


def _pk(product: Any) -> str:
    return str(getattr(product, "pk", product))


def on_product_viewed(
    sender: Any,
    request: Any = None,
    product: Any = None,
    user: Any = None,
    visitor_id: Any = None,
    **kwargs: Any,
) -> None:
    _record([EventIn(kind="view", product_id=_pk(product))], request, user, visitor_id, Event.Source.SIGNAL)


def on_searched(
    sender: Any,
    request: Any = None,
    query: str = "",
    result_count: int | None = None,
    user: Any = None,
    visitor_id: Any = None,
    **kwargs: Any,
) -> None:
    event = EventIn(kind="search", query=query, result_count=result_count)
    _record([event], request, user, visitor_id, Event.Source.SIGNAL)


def on_added_to_cart(
    sender: Any,
    request: Any = None,
    product: Any = None,
    quantity: int = 1,
    unit_price: Any = None,
    user: Any = None,
    visitor_id: Any = None,
    **kwargs: Any,
) -> None:
    event = EventIn(kind="add_to_cart", product_id=_pk(product), quantity=quantity, unit_price=unit_price)
    _record([event], request, user, visitor_id, Event.Source.SIGNAL)


def on_removed_from_cart(
    sender: Any,
    request: Any = None,
    product: Any = None,
    quantity: int = 1,
    user: Any = None,
    visitor_id: Any = None,
    **kwargs: Any,
) -> None:
    event = EventIn(kind="remove_from_cart", product_id=_pk(product), quantity=quantity)
    _record([event], request, user, visitor_id, Event.Source.SIGNAL)


def _purchase_events(order_id: Any, lines: Any) -> list[EventIn]:
    # One event per line; the order id and line number make retries of the same order idempotent.
    return [
        EventIn(
            kind="purchase",
            product_id=_pk(product),
            quantity=int(quantity),
            unit_price=unit_price,
            order_id=str(order_id),
            event_id=f"order:{order_id}:{index}",
        )
        for index, (product, quantity, unit_price) in enumerate(lines)
    ]


def on_order_placed(
    sender: Any,
    request: Any = None,
    order_id: Any = None,
    lines: Any = (),
    user: Any = None,
    visitor_id: Any = None,
    **kwargs: Any,
) -> None:
    _record(_purchase_events(order_id, lines), request, user, visitor_id, Event.Source.SIGNAL)


def on_order_saved(
    sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any
) -> None:
    if raw or not created or not app_settings.ENABLED:
        return
    adapter = app_settings.ORDER_ADAPTER()

    def record_order() -> None:
        user = adapter.user(instance)
        if user is None:
            logger.info("Order %s has no user; send order_placed with the request to record it", instance.pk)
            return
        order_id = adapter.order_id(instance)
        events = _purchase_events(order_id, adapter.lines(instance))
        _record(events, None, user, None, Event.Source.ORDER_HOOK)

    transaction.on_commit(record_order)


def on_user_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if request is None or not app_settings.ENABLED:
        return
    from recommendations.tracking.merge import linked_to_another_user, merge_visitor

    visitor = refresh_user(request)
    if linked_to_another_user(visitor.visitor_id, user):
        # A shared browser: its visitor is another user's. Start this user from a fresh one, so
        # their export and erasure never reach the other user's events.
        start_new_visitor(request)
        visitor = refresh_user(request)
    if not visitor.opted_out and not (visitor.is_bot and visitor.set_cookie):
        # (A bot without the cookie has a throw-away visitor id: nothing to merge, nothing to link.)
        merge_visitor(visitor.visitor_id, user)


def on_user_logged_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    if request is not None:
        start_new_visitor(request)


def on_product_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A saved or deleted product: drop its cached facts and display fields (title, URL, image,
    price) in this process, so the next slot reads them again, and move the catalogue generation
    on, so cached slots showing the old fields are recomputed."""
    from recommendations.catalogue import generation
    from recommendations.catalogue.products import product_cache

    product_cache().invalidate(str(instance.pk))
    generation.bump()


def connect() -> None:
    """Connect every receiver (called from AppConfig.ready)."""
    from recommendations.catalogue.products import get_product_model
    from recommendations.tracking.orders import get_order_model

    uid = "recommendations"
    signals.product_viewed.connect(on_product_viewed, dispatch_uid=f"{uid}.product_viewed")
    signals.searched.connect(on_searched, dispatch_uid=f"{uid}.searched")
    signals.added_to_cart.connect(on_added_to_cart, dispatch_uid=f"{uid}.added_to_cart")
    signals.removed_from_cart.connect(on_removed_from_cart, dispatch_uid=f"{uid}.removed_from_cart")
    signals.order_placed.connect(on_order_placed, dispatch_uid=f"{uid}.order_placed")
    user_logged_in.connect(on_user_logged_in, dispatch_uid=f"{uid}.logged_in")
    user_logged_out.connect(on_user_logged_out, dispatch_uid=f"{uid}.logged_out")
    product_model = get_product_model()
    post_save.connect(on_product_changed, sender=product_model, dispatch_uid=f"{uid}.product_saved")
    post_delete.connect(on_product_changed, sender=product_model, dispatch_uid=f"{uid}.product_deleted")
    order_model = get_order_model()
    if order_model is not None:
        post_save.connect(on_order_saved, sender=order_model, dispatch_uid=f"{uid}.order_saved")
