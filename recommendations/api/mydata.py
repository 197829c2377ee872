"""``GET``/``DELETE me/data/``: export or erase everything held about the current shopper."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.api.caching import PrivateResponses
from recommendations.api.consent import THROTTLED
from recommendations.api.errors import UniformErrors
from recommendations.api.schema import extend_schema
from recommendations.api.throttling import VisitorEventThrottle
from recommendations.privacy import erase_user_data, export_user_data
from recommendations.tracking.visitors import get_visitor


class MyDataView(UniformErrors, PrivateResponses, APIView):
    """``GET``: everything held about the current visitor (the user when logged in) as JSON.
    ``DELETE``: erase it now (the account itself stays)."""

    permission_classes = [AllowAny]
    throttle_classes = [VisitorEventThrottle]

    def _owner(self, request: Request) -> dict[str, Any]:
        visitor = get_visitor(request._request)
        if visitor.user is not None:
            return {"user": visitor.user}
        return {"visitor_id": visitor.visitor_id}

    @extend_schema(responses={200: dict, 429: THROTTLED})
    def get(self, request: Request) -> Response:
        response = Response(export_user_data(**self._owner(request)))
        response["Content-Disposition"] = 'attachment; filename="my-recommendations-data.json"'
        return response

    @extend_schema(responses={200: dict, 429: THROTTLED})
    def delete(self, request: Request) -> Response:
        return Response({"erased": erase_user_data(**self._owner(request))})
