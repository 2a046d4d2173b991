"""REST endpoints for consents (mounted at /api/v1/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("patients/<int:pk>/consents/", views.PatientConsentListCreateApi.as_view(), name="api-patient-consents"),
    path("consents/<int:consent_id>/withdraw/", views.ConsentWithdrawApi.as_view(), name="api-consent-withdraw"),
    path("me/consents/", views.MeConsentListCreateApi.as_view(), name="api-me-consents"),
    path("me/consents/available/", views.MeConsentOfferListApi.as_view(), name="api-me-consent-offers"),
    path("me/consents/<int:consent_id>/withdraw/", views.MeConsentWithdrawApi.as_view(), name="api-me-consent-withdraw"),
]
