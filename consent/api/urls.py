"""REST endpoints for consents (mounted at /api/v1/)."""

urlpatterns: list = []
