from django.contrib import admin
from django.urls import include, path

from tests.testapp import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("items/<uuid:pk>/", views.item_detail, name="item_detail"),
    path("async-items/<uuid:pk>/", views.item_detail_async, name="item_detail_async"),
    path("broken/<uuid:pk>/", views.broken, name="broken"),
    path("search/", views.search, name="search"),
    path("ping/", views.ping, name="ping"),
    path("login/", views.do_login, name="login"),
    path("logout/", views.do_logout, name="logout"),
    path("api/recommendations/", include("recommendations.api.urls")),
    path("api/", include("recommendations.api.docs_urls")),
]
