"""REST endpoints for scheduling: validate, fetch through permission-aware selectors, call services.

Status codes beyond the usual ones:
- 409 with a field-level body (`{"start": ["..."]}`) when the time is taken (`BookingConflict`):
  by another visit of the practitioner, or by another visit of the patient.
- `appointments/{id}/video-link/`: 200 with the link; 409 when the visit's state withholds it
  (consent not signed, intake not done, in person, over, cancelled), the body listing what is
  missing; 403 for a caller who sees the visit but is not one of its two parties.
- An appointment the caller may not see is 404, whatever they ask of it; one they see but may not
  change (e.g. a provider cancelling) is 403.

Reads of one patient's appointments are access-logged (channel "api"): an appointment, its video
link or invitation, the signed-in patient's list, and a staff list filtered to one patient.
"""

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, renderers, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.models import AccessChannel
from patients.selectors import patient_for_portal_user
from patients.services import access_log_record

from .. import selectors
from ..availability import slots_free_many
from ..ics import appointment_ics
from ..models import Appointment, AppointmentStatus, BookingChannel, Location, Practitioner, Service
from ..permissions import user_is_patient_of, user_is_practitioner_of
from ..services import (
    BookingConflict,
    appointment_book,
    appointment_cancel,
    appointment_intake_submit,
    appointment_reschedule,
    appointment_status_set,
)
from ..video import video_access
from .filters import AppointmentFilter, MeAppointmentFilter
from .serializers import (
    AppointmentCancelSerializer,
    AppointmentCreateSerializer,
    AppointmentIntakeSerializer,
    AppointmentRescheduleSerializer,
    AppointmentSerializer,
    AppointmentStatusSerializer,
    LocationSerializer,
    MeAppointmentCreateSerializer,
    PractitionerQuerySerializer,
    PractitionerSerializer,
    ServiceSerializer,
    SlotQuerySerializer,
    SlotSerializer,
    VideoLinkSerializer,
)

_APPOINTMENT_ID = OpenApiParameter("pk", int, OpenApiParameter.PATH, description="An appointment id.")
_CONFLICT = OpenApiResponse(description='The time is taken: `{"start": ["..."]}`.')


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This time is taken.")
    default_code = "conflict"


class _SchedulingApi:
    """JSON bodies only (booleans and the nested intake answers do not survive form encoding);
    a taken time is a 409 naming the field, not the 400 of other validation errors."""

    parser_classes = [JSONParser]

    def handle_exception(self, exc):
        if isinstance(exc, BookingConflict):
            exc = Conflict(detail=exc.message_dict)
        return super().handle_exception(exc)


def _log(request, patient, resource: str) -> None:
    access_log_record(actor=request.user, patient=patient, resource=resource, channel=AccessChannel.API, request=request)


def _appointment(request, pk) -> Appointment:
    return selectors.appointment_get_for_user(user=request.user, pk=pk)


def _data(request, appointment: Appointment) -> dict:
    return AppointmentSerializer(appointment, context={"request": request}).data


# --- reference data --------------------------------------------------------------------------


class ServiceListApi(generics.ListAPIView):
    """The services that can be booked (any signed-in user)."""

    serializer_class = ServiceSerializer
    queryset = Service.objects.none()  # for the schema; the real one comes from the selector
    filterset_class = None

    def get_queryset(self):
        return selectors.services_bookable()


class LocationListApi(generics.ListAPIView):
    """The locations where in-person visits happen (any signed-in user)."""

    serializer_class = LocationSerializer
    queryset = Location.objects.none()  # for the schema; the real one comes from the selector
    filterset_class = None

    def get_queryset(self):
        return selectors.locations_active()


class PractitionerListApi(generics.ListAPIView):
    """The practitioners who can be booked, with what they offer and where (any signed-in user)."""

    serializer_class = PractitionerSerializer
    queryset = Practitioner.objects.none()  # for the schema; the real one comes from the selector
    filterset_class = None

    def get_queryset(self):
        query = PractitionerQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return selectors.practitioners_bookable(**query.validated_data).prefetch_related(
            # Only the services still offered; two queries for the whole page.
            Prefetch("services", queryset=selectors.services_bookable().only("pk")),
            Prefetch("locations", queryset=selectors.locations_active().only("pk")),
        )

    @extend_schema(parameters=[PractitionerQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SlotListApi(generics.GenericAPIView):
    """Free slots of a service between two instants, with one practitioner or with every
    practitioner offering it. Patients see only what they may book (the service's minimum notice
    and booking window); staff who book for patients see every free slot from now on."""

    serializer_class = SlotSerializer
    filter_backends = []

    @extend_schema(parameters=[SlotQuerySerializer], responses=SlotSerializer(many=True))
    def get(self, request):
        query = SlotQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        service, virtual = data["service"], data["virtual"]
        if "practitioner" in data:
            practitioners = [data["practitioner"]]
        else:
            practitioners = selectors.practitioners_bookable(service=service, virtual=virtual)
        # One search for all of them: the same four queries for one practitioner or fifty.
        slots = slots_free_many(
            practitioners=practitioners,
            service=service,
            start=data["start"],
            end=data["end"],
            virtual=virtual,
            enforce_booking_window=not request.user.has_perm("scheduling.add_appointment"),
        )
        page = self.paginate_queryset(slots)
        return self.get_paginated_response(SlotSerializer(page, many=True).data)


# --- appointments ----------------------------------------------------------------------------


class AppointmentListCreateApi(_SchedulingApi, generics.ListAPIView):
    """The appointments you may see (all for the front desk and administrators, your care-team
    patients' for care managers, your own visits and your care-team patients' for providers, your
    own for a patient; none for outreach and event planning); book one for a patient."""

    serializer_class = AppointmentSerializer
    queryset = Appointment.objects.none()  # for the schema; the real one comes from the selector
    filterset_class = AppointmentFilter

    def get_queryset(self):
        return selectors.appointments_for_user(user=self.request.user)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        # Filtered to one patient, the list is a read of that patient's schedule.
        page = getattr(self.paginator, "page", None)
        if "patient" in request.query_params and page is not None and page.object_list:
            _log(request, page.object_list[0].patient, "appointments")
        return response

    @extend_schema(
        request=AppointmentCreateSerializer,
        responses={201: AppointmentSerializer, 400: OpenApiResponse(description="A field is wrong."), 409: _CONFLICT},
    )
    def post(self, request):
        serializer = AppointmentCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        appointment = appointment_book(actor=request.user, channel=BookingChannel.API, **serializer.validated_data)
        return Response(_data(request, appointment), status=status.HTTP_201_CREATED)


class AppointmentDetailApi(APIView):
    """One appointment (access-logged)."""

    @extend_schema(parameters=[_APPOINTMENT_ID], responses=AppointmentSerializer)
    def get(self, request, pk: int):
        appointment = _appointment(request, pk)
        _log(request, appointment.patient, "appointment")
        return Response(_data(request, appointment))


class AppointmentRescheduleApi(_SchedulingApi, APIView):
    """Move a booked visit to another free slot, optionally with another practitioner or mode.
    Patients must do it before the service's cancellation notice."""

    @extend_schema(
        parameters=[_APPOINTMENT_ID],
        request=AppointmentRescheduleSerializer,
        responses={200: AppointmentSerializer, 409: _CONFLICT},
    )
    def post(self, request, pk: int):
        appointment = _appointment(request, pk)
        serializer = AppointmentRescheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = appointment_reschedule(actor=request.user, appointment=appointment, **serializer.validated_data)
        return Response(_data(request, appointment))


class AppointmentCancelApi(_SchedulingApi, APIView):
    """Cancel a booked visit, with a reason. Cancelling twice is harmless."""

    @extend_schema(parameters=[_APPOINTMENT_ID], request=AppointmentCancelSerializer, responses=AppointmentSerializer)
    def post(self, request, pk: int):
        appointment = _appointment(request, pk)
        serializer = AppointmentCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = appointment_cancel(
            actor=request.user, appointment=appointment, reason=serializer.validated_data.get("reason", "")
        )
        return Response(_data(request, appointment))


class AppointmentIntakeApi(_SchedulingApi, APIView):
    """The patient (or staff on their behalf) confirms contact, insurance and payment details and
    answers the intake questions. A card number is refused."""

    @extend_schema(parameters=[_APPOINTMENT_ID], request=AppointmentIntakeSerializer, responses=AppointmentSerializer)
    def post(self, request, pk: int):
        appointment = _appointment(request, pk)
        serializer = AppointmentIntakeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = appointment_intake_submit(actor=request.user, appointment=appointment, **serializer.validated_data)
        return Response(_data(request, appointment))


class AppointmentStatusApi(_SchedulingApi, APIView):
    """Mark a visit arrived (its practitioner, the front desk), fulfilled or no-show (its practitioner)."""

    @extend_schema(parameters=[_APPOINTMENT_ID], request=AppointmentStatusSerializer, responses=AppointmentSerializer)
    def post(self, request, pk: int):
        appointment = _appointment(request, pk)
        serializer = AppointmentStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = appointment_status_set(
            actor=request.user, appointment=appointment, status=AppointmentStatus(serializer.validated_data["status"])
        )
        return Response(_data(request, appointment))


class AppointmentVideoLinkApi(APIView):
    """The video link of a virtual visit, for its patient (once the virtual-visit consent is signed
    and the intake done) and its practitioner. 409 lists what is missing; 403 for anyone else."""

    @extend_schema(
        parameters=[_APPOINTMENT_ID],
        responses={
            200: VideoLinkSerializer,
            403: OpenApiResponse(VideoLinkSerializer, description="Only the patient and the practitioner get the link."),
            409: OpenApiResponse(VideoLinkSerializer, description="Withheld for now: `missing` says what to do."),
        },
    )
    def get(self, request, pk: int):
        appointment = _appointment(request, pk)
        access = video_access(user=request.user, appointment=appointment)
        body = VideoLinkSerializer(access).data
        if access.url:
            _log(request, appointment.patient, "video_link")
            return Response(body)
        party = user_is_patient_of(request.user, appointment.patient) or user_is_practitioner_of(request.user, appointment)
        return Response(body, status=status.HTTP_409_CONFLICT if party else status.HTTP_403_FORBIDDEN)


class ICalendarRenderer(renderers.BaseRenderer):
    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only errors reach a renderer here (the invitation itself is returned as it is).
        return renderers.JSONRenderer().render(data)


class AppointmentIcsApi(APIView):
    """The iCalendar invitation of an appointment: the patient's copy for its patient, the
    practitioner's (naming the patient by MRN only) for everyone else."""

    renderer_classes = [renderers.JSONRenderer, ICalendarRenderer]

    @extend_schema(parameters=[_APPOINTMENT_ID], responses={(200, "text/calendar"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        appointment = _appointment(request, pk)
        for_patient = user_is_patient_of(request.user, appointment.patient)
        method = "CANCEL" if appointment.status == AppointmentStatus.CANCELLED else "REQUEST"
        content = appointment_ics(appointment, method=method, for_practitioner=not for_patient)
        _log(request, appointment.patient, "appointment")
        response = HttpResponse(content, content_type=f"text/calendar; charset=utf-8; method={method}")
        response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
        return response


# --- the signed-in patient -------------------------------------------------------------------


class MeAppointmentListCreateApi(_SchedulingApi, generics.ListAPIView):
    """The signed-in patient's appointments; book one (held to the service's booking window).
    Moving, cancelling and the intake use `appointments/{id}/...`, which patients may call on their own."""

    serializer_class = AppointmentSerializer
    queryset = Appointment.objects.none()  # for the schema; the real one comes from the selector
    filterset_class = MeAppointmentFilter

    def get_queryset(self):
        self.patient = patient_for_portal_user(user=self.request.user)
        return selectors.appointments_for_patient(patient=self.patient)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "own_patient_id": getattr(getattr(self, "patient", None), "pk", None)}

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _log(request, self.patient, "appointments")
        return response

    @extend_schema(
        request=MeAppointmentCreateSerializer,
        responses={201: AppointmentSerializer, 400: OpenApiResponse(description="A field is wrong."), 409: _CONFLICT},
    )
    def post(self, request):
        patient = patient_for_portal_user(user=request.user)
        serializer = MeAppointmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = appointment_book(
            actor=request.user, patient=patient, channel=BookingChannel.API, **serializer.validated_data
        )
        return Response(_data(request, appointment), status=status.HTTP_201_CREATED)
