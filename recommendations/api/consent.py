"""``GET``/``POST consent/``: the visitor's recording choice."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.api.caching import PrivateResponses
from recommendations.api.errors import UniformErrors, error, error_response
from recommendations.api.parsers import BoundedJSONParser
from recommendations.api.schema import extend_schema
from recommendations.api.throttling import VisitorEventThrottle
from recommendations.tracking.consent import set_opt_out
from recommendations.tracking.visitors import get_visitor


class ConsentSerializer(serializers.Serializer):
    opt_out = serializers.BooleanField()


THROTTLED = error(
    "Too many requests from this visitor (RECOMMENDATIONS_INGEST_THROTTLE_RATE); see Retry-After."
)


class ConsentView(UniformErrors, PrivateResponses, APIView):
    """``GET`` the visitor's recording choice; ``POST {"opt_out": true|false}`` to change it."""

    permission_classes = [AllowAny]
    parser_classes = [BoundedJSONParser]
    throttle_classes = [VisitorEventThrottle]

    @extend_schema(responses={200: ConsentSerializer, 429: THROTTLED})
    def get(self, request: Request) -> Response:
        return Response({"opt_out": get_visitor(request._request).opted_out})

    @extend_schema(
        request=ConsentSerializer,
        responses={
            200: ConsentSerializer,
            400: error('The body is not {"opt_out": true} or {"opt_out": false}, or not JSON at all.'),
            415: error("The body is not application/json."),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        value = request.data.get("opt_out") if isinstance(request.data, dict) else None
        if not isinstance(value, bool):
            return error_response(
                "invalid",
                'Send {"opt_out": true} or {"opt_out": false}.',
                400,
                errors=[{"index": 0, "field": "opt_out", "message": "Must be a boolean."}],
            )
        response = Response({"opt_out": value})
        set_opt_out(request._request, response, opted_out=value)
        return response
