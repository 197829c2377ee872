"""Ad endpoints: thin views over :mod:`recommendations.ads`."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

try:
    from drf_spectacular.utils import OpenApiResponse
except ImportError:  # pragma: no cover - optional api-docs extra

    def OpenApiResponse(**kwargs: object) -> None:
        return None


from recommendations.ads.clicks import InvalidClick, handle_click
from recommendations.ads.serving import serve_ads
from recommendations.api.ad_serializers import AdItemSerializer, AdQuerySerializer, AdSlotResponseSerializer
from recommendations.api.schema import extend_schema
from recommendations.tracking.visitors import get_visitor


class AdSlotView(APIView):
    """Sponsored ads for an ad slot, for the current visitor. Each response charges the served
    ads (an impression), so call it once per page view."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[AdQuerySerializer], responses={200: AdSlotResponseSerializer})
    def get(self, request: Request, slot: str) -> Response:
        query = AdQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        items = serve_ads(
            request._request, slot, context=query.context_dict(), limit=query.validated_data["limit"]
        )
        response = Response({"slot": slot, "results": AdItemSerializer(items, many=True).data})
        response["Cache-Control"] = "private, no-store"
        response["Vary"] = "Cookie, Authorization"
        return response


class AdClickView(APIView):
    """Signed click redirect: counts (and for CPC charges) the click once, records it, and
    redirects to the campaign's own target. A forged or altered token gets 400."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={
            302: OpenApiResponse(description="Redirect to the campaign's target."),
            400: OpenApiResponse(description="Invalid, altered or expired token."),
        }
    )
    def get(self, request: Request, token: str) -> HttpResponseRedirect | Response:
        try:
            url = handle_click(token, get_visitor(request._request))
        except InvalidClick as exc:
            return Response({"error": "invalid", "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
