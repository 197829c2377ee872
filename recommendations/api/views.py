"""HTTP API views: translate HTTP in and out; the recorder and services do the work."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.api.authentication import BeaconSessionAuthentication
from recommendations.api.schema import extend_schema
from recommendations.api.serializers import (
    ConsentSerializer,
    EventSerializer,
    IngestResultSerializer,
)
from recommendations.api.throttling import VisitorEventThrottle
from recommendations.api.validation import parse_events
from recommendations.conf import app_settings
from recommendations.models import Event
from recommendations.schema import EventValidationError
from recommendations.tracking.consent import set_opt_out
from recommendations.tracking.recorder import record
from recommendations.tracking.visitors import get_visitor, is_bot, set_visitor_cookie


def _error(code: str, message: str, http_status: int, **extra: Any) -> Response:
    return Response({"error": code, "detail": message, **extra}, status=http_status)


class EventIngestView(APIView):
    """``POST`` one event (a JSON object) or a batch (a JSON array, or ``{"events": [...]}``).

    The batch is all-or-nothing: if any item is invalid the response is 400 with one entry per
    bad field (``{"index", "field", "message"}``) and nothing is stored. Retrying events that carry
    an ``event_id`` is safe: they are stored once (``duplicates`` counts the repeats). Clients whose
    User-Agent declares a bot get 202 with ``"skipped": "bot"`` and nothing is stored.
    """

    authentication_classes = [BeaconSessionAuthentication]
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    throttle_classes = [VisitorEventThrottle]

    @extend_schema(
        request=EventSerializer(many=True),
        responses={202: IngestResultSerializer, 400: None, 413: None, 415: None, 429: None},
        description='One event object, an array of up to 500, or {"events": [...]}; all-or-nothing.',
    )
    def post(self, request: Request) -> Response:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > app_settings.MAX_BODY_BYTES:
            return _error(
                "too_large", f"Request body is larger than {app_settings.MAX_BODY_BYTES} bytes.", 413
            )
        payload = request.data
        if isinstance(payload, dict) and "events" in payload and set(payload) == {"events"}:
            payload = payload["events"]
        items = payload if isinstance(payload, list) else [payload]
        if len(items) > app_settings.MAX_BATCH_SIZE:
            return _error(
                "batch_too_large",
                f"A batch holds at most {app_settings.MAX_BATCH_SIZE} events; this one has {len(items)}.",
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        if not items:
            return _error("empty", "No events in the request.", 400)
        events, errors = parse_events(items)
        if errors:
            return _error("invalid", "Some events are invalid; none were stored.", 400, errors=errors)
        user_agent = request.META.get("HTTP_USER_AGENT", "")
        if user_agent and is_bot(user_agent):
            # A declared crawler or monitor; an empty User-Agent is a server-side client and counts.
            return Response(
                {"accepted": 0, "duplicates": 0, "skipped": "bot"}, status=status.HTTP_202_ACCEPTED
            )
        visitor = get_visitor(request._request)
        try:
            result = record(events, source=Event.Source.API, visitor=visitor)
        except EventValidationError as exc:
            return _error("invalid", "Some events are invalid; none were stored.", 400, errors=exc.as_list())
        body = {"accepted": result.accepted, "duplicates": result.duplicates}
        if result.skipped:
            body["skipped"] = result.skipped
        response = Response(body, status=status.HTTP_202_ACCEPTED)
        if visitor.set_cookie and not visitor.opted_out:
            # Any client that posts events gets a visitor id, so its retries share one scope.
            set_visitor_cookie(response, visitor)
            visitor.set_cookie = False
        return response


class ConsentView(APIView):
    """``GET`` the visitor's recording choice; ``POST {"opt_out": true|false}`` to change it."""

    permission_classes = [AllowAny]
    throttle_classes = [VisitorEventThrottle]

    @extend_schema(responses={200: ConsentSerializer})
    def get(self, request: Request) -> Response:
        return Response({"opt_out": get_visitor(request._request).opted_out})

    @extend_schema(request=ConsentSerializer, responses={200: ConsentSerializer, 400: None})
    def post(self, request: Request) -> Response:
        value = request.data.get("opt_out") if isinstance(request.data, dict) else None
        if not isinstance(value, bool):
            return _error(
                "invalid",
                'Send {"opt_out": true} or {"opt_out": false}.',
                400,
                errors=[{"index": 0, "field": "opt_out", "message": "Must be a boolean."}],
            )
        response = Response({"opt_out": value})
        set_opt_out(request._request, response, opted_out=value)
        return response


class MyDataView(APIView):
    """``GET``: everything held about the current visitor (the user when logged in) as JSON.
    ``DELETE``: erase it now (the account itself stays)."""

    permission_classes = [AllowAny]
    throttle_classes = [VisitorEventThrottle]

    def _owner(self, request: Request) -> dict[str, Any]:
        visitor = get_visitor(request._request)
        if visitor.user is not None:
            return {"user": visitor.user}
        return {"visitor_id": visitor.visitor_id}

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        from recommendations.privacy.service import export_user_data

        response = Response(export_user_data(**self._owner(request)))
        response["Cache-Control"] = "private, no-store"
        response["Content-Disposition"] = 'attachment; filename="my-recommendations-data.json"'
        return response

    @extend_schema(responses={200: dict})
    def delete(self, request: Request) -> Response:
        from recommendations.privacy.service import erase_user_data

        return Response({"erased": erase_user_data(**self._owner(request))})
