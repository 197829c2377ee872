"""Sponsored slots over HTTP: ``ads/<slot>/`` and the signed click redirect ``ads/click/<token>/``."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.ads.clicks import InvalidClick, handle_click
from recommendations.ads.serving import serve_ads
from recommendations.api.caching import PrivateResponses
from recommendations.api.errors import URI_TOO_LONG, OpenApiResponse, UniformErrors, error, error_response
from recommendations.api.schema import extend_schema
from recommendations.tracking.visitors import get_visitor


class AdItemSerializer(serializers.Serializer):
    """One served ad. Render ``label`` visibly next to it and link it only through ``click_url``."""

    campaign_id = serializers.IntegerField()
    label = serializers.CharField(help_text='Always "Sponsored": show it.')
    title = serializers.CharField()
    image = serializers.CharField(source="image_url", allow_null=True)
    click_url = serializers.CharField(help_text="Signed redirect to the campaign's target; counts the click.")
    product_id = serializers.CharField(allow_null=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    position = serializers.IntegerField()


class AdQuerySerializer(serializers.Serializer):
    """Where the ad slot is shown (targeting context)."""

    limit = serializers.IntegerField(
        min_value=1, max_value=10, default=1, help_text="How many ads, 1 to 10 (more or fewer is a 400)."
    )
    # A blank parameter is no parameter.
    category = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="The page's category id."
    )
    product = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="The product page's product id."
    )
    query = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="The search query on a search page."
    )

    def context_dict(self) -> dict[str, str]:
        return {
            key: self.validated_data[key]
            for key in ("category", "product", "query")
            if self.validated_data.get(key)
        }


class AdSlotResponseSerializer(serializers.Serializer):
    slot = serializers.CharField()
    results = AdItemSerializer(many=True)


class AdSlotView(UniformErrors, PrivateResponses, APIView):
    """Sponsored ads for an ad slot, for the current visitor. Each response charges the served
    ads (an impression), so call it once per page view."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[AdQuerySerializer],
        responses={
            200: AdSlotResponseSerializer,
            400: error(
                "A query parameter is invalid (`limit` outside 1..10, a text longer than its maximum)."
            ),
            414: URI_TOO_LONG,
        },
    )
    def get(self, request: Request, slot: str) -> Response:
        query = AdQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        items = serve_ads(
            request._request, slot, context=query.context_dict(), limit=query.validated_data["limit"]
        )
        return Response({"slot": slot, "results": AdItemSerializer(items, many=True).data})


class AdClickView(UniformErrors, PrivateResponses, APIView):
    """Signed click redirect: counts (and for CPC charges) the click once, records it, and
    redirects to the campaign's own target. A forged or altered token gets 400."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={
            302: OpenApiResponse(description="Redirect to the campaign's target."),
            400: error("Invalid, altered or expired token."),
            414: URI_TOO_LONG,
        }
    )
    def get(self, request: Request, token: str) -> HttpResponseRedirect | Response:
        try:
            url = handle_click(token, get_visitor(request._request))
        except InvalidClick as exc:
            return error_response("invalid", str(exc), status.HTTP_400_BAD_REQUEST)
        response = HttpResponseRedirect(url)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
