from django.urls import path

from recommendations.api import views

app_name = "recommendations"

urlpatterns = [
    path("events/", views.EventIngestView.as_view(), name="events"),
    path("consent/", views.ConsentView.as_view(), name="consent"),
]
