"""Portal pages for booking and managing visits (mounted at /portal/appointments/)."""

from django.urls import path

from . import views

app_name = "scheduling"

urlpatterns = [
    path("", views.appointment_list, name="list"),
    path("book/", views.book_service, name="book"),
    path("book/<int:service_id>/practitioners/", views.book_practitioner, name="book_practitioner"),
    path("book/<int:service_id>/", views.book_slot, name="book_slot"),
    path("book/<int:service_id>/confirm/", views.book_confirm, name="book_confirm"),
    path("<int:pk>/", views.appointment_detail, name="appointment"),
    path("<int:pk>/intake/", views.appointment_intake, name="intake"),
    path("<int:pk>/reschedule/", views.appointment_reschedule_page, name="reschedule"),
    path("<int:pk>/cancel/", views.appointment_cancel_page, name="cancel"),
    path("<int:pk>/invite.ics", views.appointment_ics_download, name="ics"),
    path("<int:pk>/visit/", views.appointment_visit, name="visit"),
    path("<int:pk>/consent/", views.appointment_consent, name="consent"),
]
