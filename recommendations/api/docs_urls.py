"""OpenAPI schema and interactive docs (needs the ``api-docs`` extra: drf-spectacular and its
sidecar, so the docs page loads no CDN asset). In your project's urls::

    path("api/", include("recommendations.api.docs_urls")),   # /api/schema/ and /api/docs/
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
