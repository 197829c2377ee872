"""Captures product-detail views and searches for the URL names in ``TRACKED_VIEWS``.

Thin on purpose: it decides *whether* a request is worth an event (successful GET, configured
URL name, not a bot's anonymous browsing, not a prefetch) and hands the event to the recorder. It also keeps the
visitor cookie. Sync and async capable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

from recommendations.catalogue.products import get_adapter
from recommendations.conf import app_settings
from recommendations.models import Event
from recommendations.schema import EventIn, EventValidationError
from recommendations.tracking.bots import may_record
from recommendations.tracking.recorder import record_for_request
from recommendations.tracking.visitors import get_visitor, is_prefetch, set_visitor_cookie

logger = logging.getLogger(__name__)

# A view may set these on the request to save the middleware a lookup.
PRODUCT_ATTR = "recommendations_product"
RESULT_COUNT_ATTR = "recommendations_result_count"
# Query parameter carrying a recommendation token on links rendered in a slot.
TOKEN_PARAM = "rt"


def _product_id(request: HttpRequest, rule: dict[str, Any]) -> str | None:
    product = getattr(request, PRODUCT_ATTR, None)
    if product is not None:
        return str(product.pk)
    value = request.resolver_match.kwargs.get(rule.get("product_kwarg", "pk"))
    if value is None:
        return None
    lookup = rule.get("lookup_field", "pk")
    if lookup == "pk":
        return str(value)
    pk = get_adapter().queryset().filter(**{lookup: value}).values_list("pk", flat=True).first()
    return None if pk is None else str(pk)


def events_for(request: HttpRequest, response: HttpResponse) -> list[EventIn]:
    """The events this request/response pair stands for (usually none)."""
    if request.method != "GET" or not 200 <= response.status_code < 300:
        return []
    match = request.resolver_match
    rule = app_settings.TRACKED_VIEWS.get(match.view_name) if match is not None else None
    if rule is None or is_prefetch(request):
        return []
    kind = rule.get("kind", "view")
    if not may_record(get_visitor(request), kind):  # an anonymous bot: skip the lookups too
        return []
    if kind == "search":
        query = request.GET.get(rule.get("query_param", "q"), "").strip()
        if not query:
            return []
        return [
            EventIn(kind="search", query=query[:200], result_count=getattr(request, RESULT_COUNT_ATTR, None))
        ]
    product_id = _product_id(request, rule)
    if product_id is None:
        return []
    events = [EventIn(kind=kind, product_id=product_id)]
    # Most product views carry no query string: skip parsing one.
    token = request.GET.get(TOKEN_PARAM) if request.META.get("QUERY_STRING") else None
    if token and kind == "view":
        click = _click_from_token(token, product_id)
        if click is not None:
            events.append(click)
    return events


def _click_from_token(raw: str, product_id: str) -> EventIn | None:
    """A click on a recommended item: the product link carried the item's signed token."""
    from recommendations.attribution import InvalidToken, verify

    try:
        token = verify(raw, product_id)
    except InvalidToken:
        return None
    # One click per rendered item: reloading the page does not count it again.
    event_id = f"click:{token.request_id}:{token.position}"
    return EventIn(kind="click", product_id=product_id, token=raw, event_id=event_id)


def _after_response(request: HttpRequest, response: HttpResponse) -> None:
    if not app_settings.ENABLED:
        return
    events = events_for(request, response)
    if events:
        try:
            record_for_request(request, events, source=Event.Source.MIDDLEWARE)
        except EventValidationError as exc:
            logger.info("Not recording %s: %s", request.path, exc)
        except Exception:  # recording must never break the page
            logger.exception("Recording an event for %s failed", request.path)
    visitor = get_visitor(request)
    if visitor.set_cookie and not visitor.opted_out and not visitor.is_bot and not _shared(response):
        set_visitor_cookie(response, visitor)


def _shared(response: HttpResponse) -> bool:
    """A response shared caches may keep: a visitor cookie on it would be handed to everyone."""
    return "public" in response.get("Cache-Control", "")


@sync_and_async_middleware
def RecommendationsMiddleware(
    get_response: Callable[[HttpRequest], Any],
) -> Callable[[HttpRequest], Any]:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            response = await get_response(request)
            await sync_to_async(_after_response, thread_sensitive=True)(request, response)
            return response

        return middleware

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        _after_response(request, response)
        return response

    return middleware
