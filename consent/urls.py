"""Portal pages for a patient's consents (mounted at /portal/consents/)."""

app_name = "consent"
urlpatterns: list = []
