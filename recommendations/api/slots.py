"""Recommendation slots over HTTP: ``for-you/``, ``products/<id>/similar/``, ``bought-together/``,
``trending/``, ``recently-viewed/``, ``buy-again/``, ``browsed-not-bought/``; the query and response contract and its fast path together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.api import slotbody
from recommendations.api.caching import PrivateResponses
from recommendations.api.errors import URI_TOO_LONG, UniformErrors, error, error_response
from recommendations.api.schema import extend_schema
from recommendations.catalogue.products import get_adapter, product_key
from recommendations.serving.page import SlotSpec
from recommendations.serving.render import page_items, slot_items
from recommendations.subjects import Subject
from recommendations.tracking.visitors import get_visitor, subject_of_request


class RecommendedItemSerializer(serializers.Serializer):
    """One recommended product, ready to render."""

    product_id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(
        help_text="Product URL carrying the recommendation token (click attribution)."
    )
    image = serializers.CharField(source="image_url", allow_null=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    score = serializers.FloatField()
    reason = serializers.CharField(help_text="Why this item is shown, e.g. 'Because you viewed Tent'.")
    reason_code = serializers.CharField()
    source = serializers.CharField(help_text="The algorithm that produced the item.")
    position = serializers.IntegerField()
    token = serializers.CharField(
        help_text="Signed recommendation token; send it with impression/click events."
    )


class SlotQuerySerializer(serializers.Serializer):
    """Query parameters shared by the recommendation endpoints."""

    # Optional text parameters may be blank: a blank parameter is no parameter.
    limit = serializers.IntegerField(
        min_value=1, max_value=50, default=10, help_text="How many items, 1 to 50 (more or fewer is a 400)."
    )
    category = serializers.CharField(required=False, allow_blank=True, max_length=64)
    exclude = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Comma-separated product ids never to return.",
    )
    slot = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="A slot recipe name (for-you only); one that is no recipe is a 400.",
    )
    user = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="Read another user's recommendations (staff with the 'view_any_recommendations' permission).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in attrs.items() if value != ""}  # blank: not given

    def context_dict(self) -> dict[str, Any]:
        return context_dict(self.validated_data)


def context_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The serving context of validated slot query data (category, exclude)."""
    context: dict[str, Any] = {}
    if data.get("category"):
        context["category"] = data["category"]
    if data.get("exclude"):
        context["exclude"] = [part.strip() for part in data["exclude"].split(",") if part.strip()]
    return context


_AWKWARD = re.compile(r"[\x00\ud800-\udfff]")


@cache
def _char_limits() -> dict[str, int]:
    fields = SlotQuerySerializer().fields
    return {
        name: field.max_length for name, field in fields.items() if isinstance(field, serializers.CharField)
    }


def _fast(params: Mapping[str, str]) -> dict[str, Any] | None:
    """The validated data of a plainly valid query, or ``None`` to let the serializer decide."""
    limit_field = SlotQuerySerializer._declared_fields["limit"]
    data: dict[str, Any] = {"limit": limit_field.default}
    raw_limit = params.get("limit", "")
    if raw_limit != "":
        if not (raw_limit.isascii() and raw_limit.isdigit()):
            return None
        limit = int(raw_limit)
        if not limit_field.min_value <= limit <= limit_field.max_value:
            return None
        data["limit"] = limit
    for name, max_length in _char_limits().items():
        value = params.get(name, "")
        if value == "":  # a blank optional parameter is no parameter (as in DRF's form parsing)
            continue
        if len(value) > max_length or value != value.strip() or _AWKWARD.search(value):
            return None
        data[name] = value
    return data


def slot_query(params: Mapping[str, str]) -> dict[str, Any]:
    """``SlotQuerySerializer(data=params)``'s validated data; raises its ``ValidationError``."""
    data = _fast(params)
    if data is not None:
        return data
    query = SlotQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


@cache
def _price_field() -> serializers.DecimalField:
    return RecommendedItemSerializer().fields["price"]


def item_dicts(items: Iterable[Any]) -> list[dict[str, Any]]:
    """``RecommendedItemSerializer(items, many=True).data`` built directly (same keys, order and
    value types; the price through the serializer's own DecimalField)."""
    price = _price_field().to_representation
    return [
        {
            "product_id": str(item.product_id),
            "title": str(item.title),
            "url": str(item.url),
            "image": None if item.image_url is None else str(item.image_url),
            "price": None if item.price is None else price(item.price),
            "score": float(item.score),
            "reason": str(item.reason),
            "reason_code": str(item.reason_code),
            "source": str(item.source),
            "position": int(item.position),
            "token": str(item.token),
        }
        for item in items
    ]


class SlotResponseSerializer(serializers.Serializer):
    slot = serializers.CharField()
    results = RecommendedItemSerializer(many=True)


# What a slot endpoint can answer besides 200 (the schema says so; the fuzz test holds it to it).
SLOT_ERRORS = {
    400: error(
        "A query parameter is invalid (`limit` outside 1..50, a text longer than its maximum, a NUL "
        "character), or `slot` names no slot recipe."
    ),
    403: error("`user` given without the 'view_any_recommendations' permission."),
    404: error("The product of the path does not exist, or `user` names no user."),
    414: URI_TOO_LONG,
}


VIEW_ANY_PERMISSION = "recommendations.view_any_recommendations"


class SlotView(UniformErrors, PrivateResponses, APIView):
    permission_classes = [AllowAny]
    slot = ""
    # Personal slots without a product in the URL answer plain requests from the cached body.
    fast_path = False

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if self.fast_path and not kwargs:
            try:
                response = slotbody.fast_response(self, request, _fast(request.GET))
            except Exception:  # the full path answers (and reports) whatever went wrong
                response = None
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def _subject(self, request: Request, query: dict[str, Any]) -> Subject | None:
        other = query.get("user")
        if not other:
            if get_visitor(request._request).opted_out:
                return None  # consent: non-personal recommendations only
            return subject_of_request(request._request)
        if not request.user.has_perm(VIEW_ANY_PERMISSION):
            raise PermissionDenied(
                "Reading another user's recommendations needs the 'view_any_recommendations' permission."
            )
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(pk=other)
        except (user_model.DoesNotExist, ValueError, DjangoValidationError) as exc:
            raise Http404(f"No user {other!r}.") from exc
        return Subject(user_id=str(user.pk), visitor_id=None)

    def _product_context(self, product_id: str) -> dict[str, Any]:
        try:
            key = product_key(product_id)
        except ValueError as exc:
            raise Http404(f"No product {product_id!r}.") from exc
        if not get_adapter().queryset().filter(pk=key).exists():
            raise Http404(f"No product {product_id!r}.")
        return {"product": key}

    @extend_schema(parameters=[SlotQuerySerializer], responses={200: SlotResponseSerializer, **SLOT_ERRORS})
    def get(self, request: Request, product_id: str | None = None) -> Response:
        query = slot_query(request.query_params)
        context = context_dict(query)
        if product_id is not None:
            context.update(self._product_context(product_id))
        slot = query.get("slot") or self.slot
        subject = self._subject(request, query)
        try:
            items = slot_items(
                None if subject is None else request._request,  # no subject: nobody's results
                slot,
                context=context,
                limit=query["limit"],
                visitor=subject,
            )
        except ValueError as exc:  # an unknown slot recipe
            return error_response("invalid", str(exc), status.HTTP_400_BAD_REQUEST)
        # the dicts SlotResponseSerializer describes, built without per-request DRF fields;
        # personal and live: PrivateResponses keeps them out of shared caches
        return Response({"slot": slot, "results": item_dicts(items)})


class ForYouView(SlotView):
    """Personalised recommendations for the current visitor (``?slot=`` picks another recipe)."""

    slot = "for_you"
    fast_path = True


class SimilarView(SlotView):
    """Products similar to ``product_id``."""

    slot = "similar"


class BoughtTogetherView(SlotView):
    """Products frequently bought together with ``product_id``."""

    slot = "bought_together"


class TrendingQuerySerializer(SlotQuerySerializer):
    """Trending's parameters: no personal one (``slot``, ``user`` are a 400)."""

    slot = None
    user = None


class TrendingView(SlotView):
    """Trending products, globally or in ``?category=``. The same for everyone (no personal
    parameter, nothing about the visitor, no experiment bucketing), so cacheable briefly."""

    slot = "trending"
    # Personal parameters: answered with a 400, so a public response never depends on them.
    PERSONAL = ("slot", "user")

    def _subject(self, request: Request, query: dict[str, Any]) -> Subject | None:
        return None

    @extend_schema(
        parameters=[TrendingQuerySerializer],
        responses={
            200: SlotResponseSerializer,
            400: error(
                "A query parameter is invalid (`limit` outside 1..50, a text longer than its maximum), "
                "or a personal parameter (`slot`, `user`) was given: trending is the same for everyone."
            ),
            414: URI_TOO_LONG,
        },
    )
    def get(self, request: Request, product_id: str | None = None) -> Response:
        personal = [name for name in self.PERSONAL if request.query_params.get(name)]
        if personal:
            return error_response(
                "invalid",
                f"trending/ is the same for everyone and takes no {' or '.join(map(repr, personal))} "
                "parameter; use for-you/?slot= for a personal slot.",
                status.HTTP_400_BAD_REQUEST,
            )
        response = super().get(request, product_id)
        if response.status_code == 200:
            response["Cache-Control"] = "public, max-age=30"
        return response


class RecentlyViewedView(SlotView):
    """The visitor's recently viewed products."""

    slot = "recently_viewed"
    fast_path = True


class BuyAgainView(SlotView):
    """What the shopper buys again and is due to (consumables on their cycle), each with its
    reason ("You buy this about every 30 days"); never a durable the shop's orders show is not
    bought again. Personal: private, like for-you."""

    slot = "buy_again"
    fast_path = True


class BrowsedNotBoughtView(SlotView):
    """Products the shopper viewed or carted and did not buy ("still thinking about it?"), by
    intent (a cart counts more than a view) and recency. Personal: private, like for-you."""

    slot = "browsed_not_bought"
    fast_path = True


MAX_PAGE_SLOTS = 8


class PageQuerySerializer(SlotQuerySerializer):
    slots = serializers.CharField(
        max_length=500,
        help_text="Comma-separated slot recipe names, in page order, e.g. 'for_you,trending'.",
    )
    slot = None  # the slots are named by ``slots``


class PageSlotSerializer(serializers.Serializer):
    slot = serializers.CharField()
    results = RecommendedItemSerializer(many=True)


class PageResponseSerializer(serializers.Serializer):
    slots = PageSlotSerializer(many=True)


class PageView(SlotView):
    """Several slots of one page in one request, computed together: a product an earlier slot
    shows is not repeated by a later one (``recently_viewed`` keeps the visitor's whole history).
    ``limit``, ``category`` and ``exclude`` apply to every slot."""

    @extend_schema(
        parameters=[PageQuerySerializer],
        responses={
            200: PageResponseSerializer,
            **SLOT_ERRORS,
            400: error(
                "A query parameter is invalid (`limit` outside 1..50, a text longer than its maximum), "
                f"or `slots` names no slot, more than {MAX_PAGE_SLOTS}, or one that is no slot recipe."
            ),
            404: error("`user` names no user."),
        },
    )
    def get(self, request: Request, product_id: str | None = None) -> Response:
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        names = [name.strip() for name in query.validated_data["slots"].split(",") if name.strip()]
        if not names or len(names) > MAX_PAGE_SLOTS:
            return error_response(
                "invalid", f"Name 1 to {MAX_PAGE_SLOTS} slots.", status.HTTP_400_BAD_REQUEST
            )
        context = context_dict(query.validated_data)
        specs = [SlotSpec(name, dict(context), query.validated_data["limit"]) for name in names]
        try:
            pages = page_items(request._request, specs, visitor=self._subject(request, query.validated_data))
        except ValueError as exc:  # an unknown slot recipe
            return error_response("invalid", str(exc), status.HTTP_400_BAD_REQUEST)
        body = {
            "slots": [
                {"slot": name, "results": item_dicts(items)} for name, items in zip(names, pages, strict=True)
            ]
        }
        response = Response(body)
        response["Cache-Control"] = "private, no-store"
        response["Vary"] = "Cookie, Authorization"
        return response
