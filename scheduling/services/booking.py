"""Booking, moving and cancelling a visit.

Booking checks the slot against the practitioner's hours first (a clear error for a time nobody
offers), then inserts; the database's overlap guard (exclusion constraints on PostgreSQL,
triggers on SQLite, see migration 0002) decides races, and its refusal becomes `BookingConflict`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, NoReturn

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.records import save_validated

from .. import events, messages
from ..availability import slot_find
from ..models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentStatus,
    BookingChannel,
    Location,
    Practitioner,
    ReminderStatus,
    Service,
)
from ..permissions import user_is_patient_of, user_may_book_for, user_may_change
from .common import appointment_lock, event_emit
from .reminders import reminders_schedule

if TYPE_CHECKING:
    from accounts.models import User
    from patients.models import Patient


class BookingConflict(ValidationError):
    """The time is taken (by another booking of the practitioner or of the patient). The API
    answers 409; forms show it beside the time field."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__({"start": message or _("This time has just been taken. Please choose another slot.")})


# PostgreSQL checks an exclusion constraint against every overlapping row in the index, committed
# or not, and waits for those still in flight: two overlapping inserts can wait for each other,
# which PostgreSQL breaks only after `deadlock_timeout` (1 s) by aborting one, and a crowd on one
# slot chains such waits into tens of seconds (bench/booking.py). So a booking first locks its
# practitioner, then its patient, until its transaction ends: contenders queue on the locks and
# the constraint, still the guarantee, only meets committed rows. Should a deadlock still happen
# (a writer that took no lock), the savepoint is rolled back and the insert tried again: it then
# meets a committed row (a conflict) or none (booked).
_LOCK_PRACTITIONER, _LOCK_PATIENT = 1, 2  # advisory lock key = namespace << 40 | id
DEADLOCK_RETRIES = 3


def _overlap_locks(appointment: Appointment) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: transactions are BEGIN IMMEDIATE, one writer at a time already
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s), pg_advisory_xact_lock(%s)",
            [_LOCK_PRACTITIONER << 40 | appointment.practitioner_id, _LOCK_PATIENT << 40 | appointment.patient_id],
        )


def _insert_or_conflict(appointment: Appointment, *, actor: User) -> None:
    """Save inside a savepoint; an overlap refused by the database is a conflict, not a 500."""
    _overlap_locks(appointment)
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():
                save_validated(appointment, actor=actor)
            return
        except IntegrityError as exc:
            text = str(exc)
            if "appointment_no_overlap" in text or "appointment_patient_no_overlap" in text or "overlap" in text.lower():
                if "patient" in text:
                    raise BookingConflict(_("You already have another visit at this time.")) from None
                raise BookingConflict() from None
            raise
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "40P01":  # deadlock_detected
                raise
            if attempt == DEADLOCK_RETRIES:
                raise BookingConflict() from None


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError({field: _("Enter a date and time.")})
    if timezone.is_naive(value):
        raise ValidationError({field: _("Give the time with its time zone.")})
    return value.astimezone(dt.UTC)


def _location_for(*, slot, virtual: bool, location: Location | None) -> Location | None:
    """Where an in-person visit takes place: where the practitioner is at that time. (The slot
    already matches the mode asked for: `slot_find` only returns slots that allow it.)"""
    if virtual:
        return None
    if location is not None and location.pk != slot.location_id:
        raise ValidationError({"location": _("The practitioner is not at this location at that time.")})
    return location or Location.objects.get(pk=slot.location_id)


@transaction.atomic
def appointment_book(
    *,
    actor: User,
    patient: Patient,
    practitioner: Practitioner,
    service: Service,
    start: dt.datetime,
    virtual: bool,
    reason: str = "",
    location: Location | None = None,
    channel: BookingChannel | str,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book a free slot for a patient. Patients are held to the service's booking window; staff are not."""
    now = now or timezone.now()
    if not user_may_book_for(actor, patient):
        raise PermissionDenied
    if not patient.active or patient.deceased:
        raise ValidationError({"patient": _("This patient's record is closed; no visit can be booked.")})
    start = _aware(start, "start")
    is_patient = user_is_patient_of(actor, patient)
    if not practitioner.services.filter(pk=service.pk).exists() or not practitioner.active:
        raise ValidationError({"practitioner": _("This practitioner does not offer this service.")})
    slot = slot_find(
        practitioner=practitioner, service=service, start=start, virtual=virtual, now=now, enforce_booking_window=is_patient
    )
    if slot is None:
        _explain_unbookable(
            practitioner=practitioner, service=service, start=start, virtual=virtual, now=now, is_patient=is_patient
        )
    location = _location_for(slot=slot, virtual=virtual, location=location)
    appointment = Appointment(
        patient=patient,
        practitioner=practitioner,
        service=service,
        location=location,
        start=slot.start,
        end=slot.end,
        virtual=virtual,
        reason=" ".join((reason or "").split())[:500],
        booked_by=actor,
        booked_via=BookingChannel(channel),
        video_room=f"salus-{secrets.token_urlsafe(24)}" if virtual else None,
        contact_phone=patient.phone,
        contact_email=patient.email,
    )
    _insert_or_conflict(appointment, actor=actor)
    reminders_schedule(appointment, now=now)
    event_emit(events.APPOINTMENT_BOOKED, appointment, virtual=virtual)
    messages.appointment_confirmation_enqueue(appointment)
    return appointment


def _explain_unbookable(*, practitioner, service, start, virtual, now, is_patient) -> NoReturn:
    """Raise the most useful error for a start time that is not a free slot."""
    if start < now:
        raise ValidationError({"start": _("This time is in the past.")})
    if is_patient and start < now + dt.timedelta(hours=service.min_notice_hours):
        raise ValidationError(
            {"start": _("Visits must be booked at least %(hours)s hours ahead.") % {"hours": service.min_notice_hours}}
        )
    if is_patient and start > now + dt.timedelta(days=service.max_days_ahead):
        raise ValidationError(
            {"start": _("Visits can be booked at most %(days)s days ahead.") % {"days": service.max_days_ahead}}
        )
    if virtual and not (service.virtual_allowed and practitioner.offers_virtual):
        raise ValidationError({"virtual": _("This visit cannot be held by video.")})
    if not virtual and not (service.in_person_allowed and practitioner.offers_in_person):
        raise ValidationError({"virtual": _("This visit can only be held by video.")})
    free_other_mode = slot_find(
        practitioner=practitioner, service=service, start=start, virtual=not virtual, now=now, enforce_booking_window=is_patient
    )
    if free_other_mode is not None:
        if virtual:
            raise ValidationError({"virtual": _("This slot is for in-person visits only.")})
        raise ValidationError({"virtual": _("This slot is for virtual visits only.")})
    taken = Appointment.objects.filter(
        practitioner=practitioner,
        status__in=HOLDING_STATUSES,
        start__lt=start + dt.timedelta(minutes=service.duration_minutes),
        end__gt=start,
    ).exists()
    if taken:
        raise BookingConflict()
    raise ValidationError({"start": _("The practitioner does not see patients at this time. Choose one of the free slots.")})


def _patient_notice_check(actor: User, appointment: Appointment, *, now: dt.datetime, moving: bool) -> None:
    if not user_is_patient_of(actor, appointment.patient):
        return
    hours = appointment.service.cancellation_notice_hours
    if now > appointment.service.online_change_deadline(appointment.start):
        if moving:
            message = _("This visit is less than %(hours)s hours away and can no longer be moved online. Please call the clinic.")
        else:
            message = _(
                "This visit is less than %(hours)s hours away and can no longer be cancelled online. Please call the clinic."
            )
        raise ValidationError({"start": message % {"hours": hours}})


@transaction.atomic
def appointment_reschedule(
    *,
    actor: User,
    appointment: Appointment,
    start: dt.datetime,
    practitioner: Practitioner | None = None,
    virtual: bool | None = None,
    location: Location | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move a booked visit to another free slot (optionally with another practitioner)."""
    now = now or timezone.now()
    if not user_may_change(actor, appointment):
        raise PermissionDenied
    appointment = appointment_lock(appointment)
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError({"status": _("Only a booked visit can be moved.")})
    _patient_notice_check(actor, appointment, now=now, moving=True)
    start = _aware(start, "start")
    practitioner = practitioner or appointment.practitioner
    virtual = appointment.virtual if virtual is None else virtual
    is_patient = user_is_patient_of(actor, appointment.patient)
    if not practitioner.services.filter(pk=appointment.service_id).exists():
        raise ValidationError({"practitioner": _("This practitioner does not offer this service.")})
    slot = slot_find(
        practitioner=practitioner,
        service=appointment.service,
        start=start,
        virtual=virtual,
        now=now,
        enforce_booking_window=is_patient,
        ignore_appointment_id=appointment.pk,
    )
    if slot is None:
        _explain_unbookable(
            practitioner=practitioner, service=appointment.service, start=start, virtual=virtual, now=now, is_patient=is_patient
        )
    old_start = appointment.start
    appointment.location = _location_for(slot=slot, virtual=virtual, location=location)
    appointment.practitioner = practitioner
    appointment.start, appointment.end = slot.start, slot.end
    if virtual and not appointment.video_room:
        appointment.video_room = f"salus-{secrets.token_urlsafe(24)}"
    appointment.virtual = virtual
    appointment.sequence += 1
    _insert_or_conflict(appointment, actor=actor)
    reminders_schedule(appointment, now=now)
    event_emit(events.APPOINTMENT_RESCHEDULED, appointment, previous_start=old_start.isoformat())
    messages.appointment_rescheduled_enqueue(appointment, previous_start=old_start)
    return appointment


@transaction.atomic
def appointment_cancel(*, actor: User, appointment: Appointment, reason: str = "", now: dt.datetime | None = None) -> Appointment:
    now = now or timezone.now()
    if not user_may_change(actor, appointment):
        raise PermissionDenied
    appointment = appointment_lock(appointment)
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError({"status": _("Only a booked visit can be cancelled.")})
    _patient_notice_check(actor, appointment, now=now, moving=False)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by = actor
    appointment.cancel_reason = " ".join((reason or "").split())[:300]
    appointment.sequence += 1
    save_validated(appointment, actor=actor)
    appointment.reminders.filter(status=ReminderStatus.PENDING).update(status=ReminderStatus.CANCELLED)
    event_emit(events.APPOINTMENT_CANCELLED, appointment, by_patient=user_is_patient_of(actor, appointment.patient))
    messages.appointment_cancelled_enqueue(appointment)
    return appointment
