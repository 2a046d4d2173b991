"""Portal pages for privacy rights: data export and erasure requests (mounted at /portal/privacy/)."""

app_name = "privacy"
urlpatterns: list = []
