"""The OpenAPI schema is valid and documents every endpoint of the app."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db


def _app_routes():
    resolver = get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "recommendations":
            for child in pattern.url_patterns:
                assert isinstance(child, URLPattern)
                path = "/" + str(pattern.pattern) + str(child.pattern)
                yield re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)


def test_schema_is_valid_and_complete(client):
    from openapi_spec_validator import validate

    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    routes = set(_app_routes())
    assert len(routes) >= 7
    assert routes <= set(schema["paths"]), routes - set(schema["paths"])
    events = schema["paths"]["/api/recommendations/events/"]["post"]
    assert "202" in events["responses"]


def test_docs_page_loads_no_cdn_asset(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "cdn." not in html and "jsdelivr" not in html and "unpkg" not in html
