"""The test project's URLs plus the floor: a trivial DRF endpoint that parses the same JSON body
and answers 202, so ingest throughput is reported against what DRF alone costs on this server."""

from django.urls import path
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.urls import urlpatterns as test_urlpatterns


class FloorView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    throttle_classes = []

    def post(self, request):
        items = request.data if isinstance(request.data, list) else [request.data]
        return Response({"accepted": len(items), "duplicates": 0}, status=202)


urlpatterns = [path("bench/floor/", FloorView.as_view()), *test_urlpatterns]
