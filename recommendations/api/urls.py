from django.urls import path

from recommendations.api import ad_views, views
from recommendations.api import recommendation_views as rec

app_name = "recommendations"

urlpatterns = [
    path("events/", views.EventIngestView.as_view(), name="events"),
    path("consent/", views.ConsentView.as_view(), name="consent"),
    path("me/data/", views.MyDataView.as_view(), name="my-data"),
    path("for-you/", rec.ForYouView.as_view(), name="for-you"),
    path("products/<str:product_id>/similar/", rec.SimilarView.as_view(), name="similar"),
    path(
        "products/<str:product_id>/bought-together/", rec.BoughtTogetherView.as_view(), name="bought-together"
    ),
    path("trending/", rec.TrendingView.as_view(), name="trending"),
    path("recently-viewed/", rec.RecentlyViewedView.as_view(), name="recently-viewed"),
    path("ads/click/<str:token>/", ad_views.AdClickView.as_view(), name="ad-click"),
    path("ads/<str:slot>/", ad_views.AdSlotView.as_view(), name="ad-slot"),
]
