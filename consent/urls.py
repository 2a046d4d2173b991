"""Portal pages for a patient's consents (mounted at /portal/consents/)."""

from django.urls import path

from . import views

app_name = "consent"
urlpatterns = [
    path("", views.consent_list, name="list"),
    path("sign/<str:purpose>/", views.consent_sign_page, name="sign"),
    path("<int:pk>/withdraw/", views.consent_withdraw_page, name="withdraw"),
    path("<int:pk>/receipt/", views.consent_receipt, name="receipt"),
    path("verify/", views.consent_verify, name="verify"),
]
