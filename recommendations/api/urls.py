from django.urls import path

from recommendations.api import ads, consent, events, mydata, slots

app_name = "recommendations"

urlpatterns = [
    path("events/", events.EventIngestView.as_view(), name="events"),
    path("consent/", consent.ConsentView.as_view(), name="consent"),
    path("me/data/", mydata.MyDataView.as_view(), name="my-data"),
    path("for-you/", slots.ForYouView.as_view(), name="for-you"),
    path("buy-again/", slots.BuyAgainView.as_view(), name="buy-again"),
    path("browsed-not-bought/", slots.BrowsedNotBoughtView.as_view(), name="browsed-not-bought"),
    path("page/", slots.PageView.as_view(), name="page"),
    path("products/<str:product_id>/similar/", slots.SimilarView.as_view(), name="similar"),
    path(
        "products/<str:product_id>/bought-together/",
        slots.BoughtTogetherView.as_view(),
        name="bought-together",
    ),
    path("trending/", slots.TrendingView.as_view(), name="trending"),
    path("recently-viewed/", slots.RecentlyViewedView.as_view(), name="recently-viewed"),
    path("ads/click/<str:token>/", ads.AdClickView.as_view(), name="ad-click"),
    path("ads/<str:slot>/", ads.AdSlotView.as_view(), name="ad-slot"),
]
