"""URLs of the demo shop: the shop, sign-in, admin and the recommendations API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

urlpatterns = [
    path("", include("shop_demo.shop.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/recommendations/", include("recommendations.api.urls")),
    path("api/", include("recommendations.api.docs_urls")),  # /api/schema/ and /api/docs/
]

# Only active with DEBUG on, so gunicorn serves the CSS in the demo too; in production run
# collectstatic and serve STATIC_ROOT from the web server.
urlpatterns += staticfiles_urlpatterns()
