"""bench.urls plus what bench/serving.py compares: a trivial DRF GET (the floor) and one page
rendered with and without three recommendation slots."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.urls import urlpatterns as bench_urlpatterns
from tests.testapp.models import Item

PAGE = """{%% load recommendations %%}<!doctype html>
<html><head><title>Shop</title></head><body>
<h1>Welcome back</h1>
<ul>{%% for item in items %%}<li><a href="{{ item.get_absolute_url }}">{{ item.name }}</a> {{ item.price }}</li>{%% endfor %%}</ul>
%s
</body></html>"""
SLOTS = "{% for_you %}{% trending %}{% recently_viewed %}"
_with_slots = engines["django"].from_string(PAGE % SLOTS)
_without_slots = engines["django"].from_string(PAGE % "")


class FloorReadView(APIView):
    """What a DRF GET answering a small JSON object costs on this server (full middleware)."""

    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        return Response({"slot": "floor", "results": []})


def _page(request: HttpRequest, template) -> HttpResponse:
    items = list(Item.objects.order_by("name")[:12])  # the page's own content: one query
    return HttpResponse(template.render({"items": items}, request))


def page_with_slots(request: HttpRequest) -> HttpResponse:
    return _page(request, _with_slots)


def page_without_slots(request: HttpRequest) -> HttpResponse:
    return _page(request, _without_slots)


urlpatterns = [
    path("bench/floor/read/", FloorReadView.as_view()),
    path("bench/page/slots/", page_with_slots),
    path("bench/page/plain/", page_without_slots),
    *bench_urlpatterns,
]
