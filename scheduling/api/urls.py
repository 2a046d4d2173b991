"""REST endpoints for scheduling (mounted at /api/v1/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("services/", views.ServiceListApi.as_view(), name="api-services"),
    path("practitioners/", views.PractitionerListApi.as_view(), name="api-practitioners"),
    path("locations/", views.LocationListApi.as_view(), name="api-locations"),
    path("slots/", views.SlotListApi.as_view(), name="api-slots"),
    path("appointments/", views.AppointmentListCreateApi.as_view(), name="api-appointments"),
    path("appointments/<int:pk>/", views.AppointmentDetailApi.as_view(), name="api-appointment"),
    path("appointments/<int:pk>/reschedule/", views.AppointmentRescheduleApi.as_view(), name="api-appointment-reschedule"),
    path("appointments/<int:pk>/cancel/", views.AppointmentCancelApi.as_view(), name="api-appointment-cancel"),
    path("appointments/<int:pk>/intake/", views.AppointmentIntakeApi.as_view(), name="api-appointment-intake"),
    path("appointments/<int:pk>/status/", views.AppointmentStatusApi.as_view(), name="api-appointment-status"),
    path("appointments/<int:pk>/video-link/", views.AppointmentVideoLinkApi.as_view(), name="api-appointment-video-link"),
    path("appointments/<int:pk>/ics/", views.AppointmentIcsApi.as_view(), name="api-appointment-ics"),
    path("me/appointments/", views.MeAppointmentListCreateApi.as_view(), name="api-me-appointments"),
]
