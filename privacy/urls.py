"""Portal pages for privacy rights: data export and erasure requests (mounted at /portal/privacy/)."""

from django.urls import path

from . import views as privacy_views

app_name = "privacy"
urlpatterns = [
    path("", privacy_views.privacy_home, name="home"),
    # The token is in the path, never in a query string (query strings end up in logs).
    path("exports/<str:token>/<str:fmt>/", privacy_views.privacy_export_download, name="download"),
]
