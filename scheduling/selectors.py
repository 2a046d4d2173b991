"""Reads of scheduling data, permission-aware. Views, admin and API querysets come from here."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from patients.models import Patient
from patients.selectors import patients_for_user

from .models import Appointment, AppointmentStatus, Location, Practitioner, Service
from .permissions import user_sees_all_appointments

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def services_bookable() -> QuerySet[Service]:
    return Service.objects.filter(active=True)


def practitioners_bookable(*, service: Service | None = None, virtual: bool | None = None) -> QuerySet[Practitioner]:
    qs = Practitioner.objects.filter(active=True, user__is_active=True)
    if service is not None:
        qs = qs.filter(services=service)
    if virtual is True:
        qs = qs.filter(offers_virtual=True)
    elif virtual is False:
        qs = qs.filter(offers_in_person=True)
    return qs.order_by("display_name", "pk")


def locations_active() -> QuerySet[Location]:
    return Location.objects.filter(active=True)


def appointments_for_user(*, user: User | AnonymousUser) -> QuerySet[Appointment]:
    """The appointments a user may see. Staff of other roles (outreach, events) see none."""
    if not user.is_authenticated or not user.is_active:
        return Appointment.objects.none()
    base = Appointment.objects.select_related("patient", "practitioner", "service", "location")
    if user_sees_all_appointments(user):
        return base
    practitioner = getattr(user, "practitioner", None)
    q = Q()
    if user.has_perm("scheduling.view_appointment"):
        # Care-team patients (care managers, providers), read through the patients selector.
        q |= Q(patient__in=patients_for_user(user=user).values("pk"))
    if practitioner is not None:
        q |= Q(practitioner=practitioner)
    if hasattr(user, "patient"):
        q |= Q(patient__user=user)
    if not q:
        return Appointment.objects.none()
    return base.filter(q)


def appointment_get_for_user(*, user: User | AnonymousUser, pk: int | str) -> Appointment:
    """One appointment the user may see, or 404 (never 403: existence is not revealed)."""
    try:
        return appointments_for_user(user=user).get(pk=pk)
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such appointment.") from None


def appointments_for_patient(
    *, patient: Patient, upcoming: bool | None = None, now: dt.datetime | None = None
) -> QuerySet[Appointment]:
    """A patient's own appointments (portal, /api/v1/me/appointments/)."""
    now = now or timezone.now()
    qs = Appointment.objects.filter(patient=patient).select_related("practitioner", "service", "location")
    if upcoming is True:
        qs = qs.filter(end__gte=now).exclude(status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
    elif upcoming is False:
        qs = qs.filter(Q(end__lt=now) | Q(status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])).order_by(
            "-start", "-id"
        )
    return qs


def appointment_previous_intake(*, patient: Patient, before: Appointment) -> Appointment | None:
    """The patient's latest other visit with a completed intake: its insurer and member number are
    offered again on the next intake, so the patient does not type them each time."""
    return (
        Appointment.objects.filter(patient=patient, intake_completed_at__isnull=False)
        .exclude(pk=before.pk)
        .order_by("-intake_completed_at", "-id")
        .only("id", "insurance_provider", "insurance_member_id", "intake_completed_at")
        .first()
    )


def next_visit_for_patient(*, patient: Patient, now: dt.datetime | None = None) -> Appointment | None:
    """The patient's next visit that is still to come (booked or arrived, not yet over)."""
    return (
        appointments_for_patient(patient=patient, upcoming=True, now=now)
        .filter(status__in=[AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED])
        .order_by("start", "id")
        .first()
    )


def day_bounds(day: dt.date, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The first and last instant of a local day (23 or 25 hours long on a daylight-saving change)."""
    zone = ZoneInfo(time_zone)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def practitioner_day(*, practitioner: Practitioner, day: dt.date) -> QuerySet[Appointment]:
    """A practitioner's appointments on a local day, cancelled ones left out."""
    start, end = day_bounds(day, practitioner.time_zone)
    return (
        Appointment.objects.filter(practitioner=practitioner, start__gte=start, start__lt=end)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("patient", "service", "location")
        .order_by("start", "id")
    )


def practitioner_for_user(*, user: User | AnonymousUser) -> Practitioner | None:
    if not user.is_authenticated:
        return None
    return Practitioner.objects.filter(user=user).first()
