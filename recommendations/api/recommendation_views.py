"""Recommendation endpoints: thin views over ``recommendations.serving.render.slot_items``.

The serializers describe the query and the answer in the OpenAPI schema; the views use their
fast equivalents (``slot_query``, ``item_dicts``), which give the same data and the same errors."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.api.recommendation_serializers import (
    SlotQuerySerializer,
    SlotResponseSerializer,
    context_dict,
    item_dicts,
    slot_query,
)
from recommendations.api.schema import extend_schema
from recommendations.catalogue.products import get_adapter, product_key
from recommendations.serving.render import slot_items
from recommendations.subjects import Subject
from recommendations.tracking.visitors import get_visitor, subject_of_request

VIEW_ANY_PERMISSION = "recommendations.view_any_recommendations"


class SlotView(APIView):
    permission_classes = [AllowAny]
    slot = ""

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

    @extend_schema(parameters=[SlotQuerySerializer], responses={200: SlotResponseSerializer})
    def get(self, request: Request, product_id: str | None = None) -> Response:
        query = slot_query(request.query_params)
        context = context_dict(query)
        if product_id is not None:
            context.update(self._product_context(product_id))
        slot = query.get("slot") or self.slot
        try:
            items = slot_items(
                request._request,
                slot,
                context=context,
                limit=query["limit"],
                visitor=self._subject(request, query),
            )
        except ValueError as exc:  # an unknown slot recipe
            return Response({"error": "invalid", "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        # the dicts SlotResponseSerializer describes, built without per-request DRF fields
        response = Response({"slot": slot, "results": item_dicts(items)})
        # Personal and live: never cached by shared caches, and stale after the next click.
        response["Cache-Control"] = "private, no-store"
        response["Vary"] = "Cookie, Authorization"
        return response


class ForYouView(SlotView):
    """Personalised recommendations for the current visitor (``?slot=`` picks another recipe)."""

    slot = "for_you"


class SimilarView(SlotView):
    """Products similar to ``product_id``."""

    slot = "similar"


class BoughtTogetherView(SlotView):
    """Products frequently bought together with ``product_id``."""

    slot = "bought_together"


class TrendingView(SlotView):
    """Trending products, globally or in ``?category=``. Not personal: cacheable briefly."""

    slot = "trending"

    @extend_schema(parameters=[SlotQuerySerializer], responses={200: SlotResponseSerializer})
    def get(self, request: Request, product_id: str | None = None) -> Response:
        response = super().get(request, product_id)
        if response.status_code == 200:
            response["Cache-Control"] = "public, max-age=30"
            del response["Vary"]
        return response


class RecentlyViewedView(SlotView):
    """The visitor's recently viewed products."""

    slot = "recently_viewed"
