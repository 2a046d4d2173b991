"""Every write to appointments. The portal, the admin, the REST API and tasks call these.

Booking checks the slot against the practitioner's hours first (a clear error for a time nobody
offers), then inserts; the database's overlap guard (exclusion constraints on PostgreSQL,
triggers on SQLite, see migration 0002) decides races, and its refusal becomes `BookingConflict`.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.services import outbox_event_emit
from patients.models import ClinicalNote
from patients.permissions import PATIENT_SELF_EDITABLE_FIELDS
from patients.services import clinical_note_create, patient_update

from . import events, messages
from .availability import slot_find
from .models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentReminder,
    AppointmentStatus,
    BookingChannel,
    Location,
    Practitioner,
    ReminderStatus,
    Service,
)
from .permissions import (
    user_is_patient_of,
    user_may_book_for,
    user_may_change,
    user_may_mark_arrived,
    user_may_run_visit,
)


class BookingConflict(ValidationError):
    """The time is taken (by another booking of the practitioner or of the patient). The API
    answers 409; forms show it beside the time field."""

    def __init__(self, message=None):
        super().__init__({"start": message or _("This time has just been taken. Please choose another slot.")})


def _save(instance, *, actor) -> None:
    instance.full_clean()
    instance._history_user = actor if getattr(actor, "pk", None) else None
    instance.save()


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


def _insert_or_conflict(appointment: Appointment, *, actor) -> None:
    """Save inside a savepoint; an overlap refused by the database is a conflict, not a 500."""
    _overlap_locks(appointment)
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():
                _save(appointment, actor=actor)
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


def _mode_and_location(*, service: Service, practitioner: Practitioner, slot, virtual: bool, location: Location | None):
    if virtual and not slot.virtual:
        raise ValidationError({"virtual": _("This slot is for in-person visits only.")})
    if not virtual and not slot.in_person:
        raise ValidationError({"virtual": _("This slot is for virtual visits only.")})
    if virtual:
        return None
    if location is not None and location.pk != slot.location_id:
        raise ValidationError({"location": _("The practitioner is not at this location at that time.")})
    return Location.objects.get(pk=slot.location_id)


def _reminders_schedule(appointment: Appointment, *, now: dt.datetime) -> None:
    """One reminder row per configured offset still in the future; pending ones for an older time
    are cancelled (a move gives a fresh set)."""
    appointment.reminders.filter(status=ReminderStatus.PENDING).exclude(
        due_at__in=[appointment.start - dt.timedelta(minutes=m) for m in settings.SALUS_APPOINTMENT_REMINDER_MINUTES]
    ).update(status=ReminderStatus.CANCELLED)
    for minutes in settings.SALUS_APPOINTMENT_REMINDER_MINUTES:
        due = appointment.start - dt.timedelta(minutes=minutes)
        if due > now:
            AppointmentReminder.objects.get_or_create(appointment=appointment, offset_minutes=minutes, due_at=due)


def _event(topic: str, appointment: Appointment, **extra) -> None:
    outbox_event_emit(
        topic=topic,
        patient_id=appointment.patient_id,
        payload={
            "appointment_id": appointment.pk,
            "patient_id": appointment.patient_id,
            "practitioner_id": appointment.practitioner_id,
            "service_id": appointment.service_id,
            **extra,
        },
    )


@transaction.atomic
def appointment_book(
    *,
    actor,
    patient,
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
    location = _mode_and_location(service=service, practitioner=practitioner, slot=slot, virtual=virtual, location=location)
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
    _reminders_schedule(appointment, now=now)
    _event(events.APPOINTMENT_BOOKED, appointment, virtual=virtual)
    messages.appointment_confirmation_enqueue(appointment)
    return appointment


def _explain_unbookable(*, practitioner, service, start, virtual, now, is_patient) -> None:
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


def _lock(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().select_related("patient", "practitioner", "service").get(pk=appointment.pk)


def _patient_notice_check(actor, appointment: Appointment, *, now: dt.datetime, moving: bool) -> None:
    if not user_is_patient_of(actor, appointment.patient):
        return
    hours = appointment.service.cancellation_notice_hours
    if now > appointment.start - dt.timedelta(hours=hours):
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
    actor,
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
    appointment = _lock(appointment)
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
    appointment.location = _mode_and_location(
        service=appointment.service, practitioner=practitioner, slot=slot, virtual=virtual, location=location
    )
    appointment.practitioner = practitioner
    appointment.start, appointment.end = slot.start, slot.end
    if virtual and not appointment.video_room:
        appointment.video_room = f"salus-{secrets.token_urlsafe(24)}"
    appointment.virtual = virtual
    appointment.sequence += 1
    _insert_or_conflict(appointment, actor=actor)
    _reminders_schedule(appointment, now=now)
    _event(events.APPOINTMENT_RESCHEDULED, appointment, previous_start=old_start.isoformat())
    messages.appointment_rescheduled_enqueue(appointment, previous_start=old_start)
    return appointment


@transaction.atomic
def appointment_cancel(*, actor, appointment: Appointment, reason: str = "", now: dt.datetime | None = None) -> Appointment:
    now = now or timezone.now()
    if not user_may_change(actor, appointment):
        raise PermissionDenied
    appointment = _lock(appointment)
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
    _save(appointment, actor=actor)
    appointment.reminders.filter(status=ReminderStatus.PENDING).update(status=ReminderStatus.CANCELLED)
    _event(events.APPOINTMENT_CANCELLED, appointment, by_patient=user_is_patient_of(actor, appointment.patient))
    messages.appointment_cancelled_enqueue(appointment)
    return appointment


# A run of 13-19 digits (spaces and dashes allowed) that passes the Luhn check is a card number.
_CARD_LIKE = re.compile(r"(?:\d[ -]?){13,19}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def looks_like_card_number(value: str) -> bool:
    for match in _CARD_LIKE.finditer(value or ""):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            return True
    return False


INTAKE_ANSWER_MAX = 2000
INTAKE_KEYS = ("symptoms", "since", "medications", "allergies", "notes")


@transaction.atomic
def appointment_intake_submit(
    *,
    actor,
    appointment: Appointment,
    contact_phone: str,
    contact_email: str,
    insurance_provider: str = "",
    insurance_member_id: str = "",
    payment_reference: str = "",
    answers: dict | None = None,
    update_patient_record: bool = False,
    now: dt.datetime | None = None,
) -> Appointment:
    """The patient (or staff on their behalf) confirms contact, insurance and payment details
    before a visit. A payment reference is a reference, never card data: a card number is refused."""
    now = now or timezone.now()
    if not user_may_change(actor, appointment):
        raise PermissionDenied
    appointment = _lock(appointment)
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError({"status": _("Intake is only taken for a booked visit.")})
    errors = {}
    contact_phone = (contact_phone or "").strip()
    contact_email = (contact_email or "").strip()
    if not contact_phone and not contact_email:
        errors["contact_phone"] = _("Give a phone number or an email address where we can reach you during the visit.")
    for field, value in (("payment_reference", payment_reference), ("insurance_member_id", insurance_member_id)):
        if looks_like_card_number(value):
            errors[field] = _("Do not enter a card number here. Give the reference of your payment or insurance instead.")
    answers = answers or {}
    if not isinstance(answers, dict):
        errors["answers"] = _("Answers must be a set of named fields.")
        answers = {}
    unknown = sorted(set(answers) - set(INTAKE_KEYS))
    if unknown:
        errors["answers"] = _("Unknown questions: %(keys)s.") % {"keys": ", ".join(map(str, unknown))}
    clean_answers = {}
    for key in INTAKE_KEYS:
        value = answers.get(key, "")
        if not isinstance(value, str):
            errors["answers"] = _("Each answer must be text.")
            continue
        if len(value) > INTAKE_ANSWER_MAX:
            errors["answers"] = _("Keep each answer under %(n)s characters.") % {"n": INTAKE_ANSWER_MAX}
            continue
        if value.strip():
            clean_answers[key] = value.strip()
    if errors:
        raise ValidationError(errors)
    appointment.contact_phone = contact_phone
    appointment.contact_email = contact_email
    appointment.insurance_provider = (insurance_provider or "").strip()
    appointment.insurance_member_id = (insurance_member_id or "").strip()
    appointment.payment_reference = (payment_reference or "").strip()
    appointment.intake_answers = clean_answers
    appointment.intake_completed_at = now
    _save(appointment, actor=actor)
    if update_patient_record:
        changes = {}
        patient = appointment.patient
        if contact_phone and contact_phone != patient.phone:
            changes["phone"] = contact_phone
        if contact_email and contact_email != patient.email:
            changes["email"] = contact_email
        if changes and set(changes) <= PATIENT_SELF_EDITABLE_FIELDS:
            patient_update(actor=actor, patient=patient, changes=changes)
    _event(events.APPOINTMENT_INTAKE_COMPLETED, appointment)
    return appointment


_STATUS_MOVES = {
    AppointmentStatus.ARRIVED: {AppointmentStatus.BOOKED},
    AppointmentStatus.FULFILLED: {AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED},
    AppointmentStatus.NO_SHOW: {AppointmentStatus.BOOKED},
}


@transaction.atomic
def appointment_status_set(*, actor, appointment: Appointment, status: AppointmentStatus | str, now=None) -> Appointment:
    """Mark a visit arrived, fulfilled or no-show (the practitioner; the front desk marks arrivals)."""
    now = now or timezone.now()
    status = AppointmentStatus(status)
    allowed = user_may_mark_arrived if status is AppointmentStatus.ARRIVED else user_may_run_visit
    if not allowed(actor, appointment):
        raise PermissionDenied
    appointment = _lock(appointment)
    if appointment.status == status:
        return appointment
    if status not in _STATUS_MOVES or appointment.status not in _STATUS_MOVES[status]:
        raise ValidationError(
            {
                "status": _("A visit that is %(current)s cannot be marked %(new)s.")
                % {"current": appointment.get_status_display().lower(), "new": status.label.lower()}
            }
        )
    if status is AppointmentStatus.NO_SHOW and now < appointment.start:
        raise ValidationError({"status": _("A visit cannot be marked as missed before it starts.")})
    appointment.status = status
    if status is AppointmentStatus.ARRIVED:
        appointment.arrived_at = now
    elif status is AppointmentStatus.FULFILLED:
        appointment.fulfilled_at = now
    _save(appointment, actor=actor)
    appointment.reminders.filter(status=ReminderStatus.PENDING).update(status=ReminderStatus.CANCELLED)
    topic = {
        AppointmentStatus.ARRIVED: events.APPOINTMENT_ARRIVED,
        AppointmentStatus.FULFILLED: events.APPOINTMENT_FULFILLED,
        AppointmentStatus.NO_SHOW: events.APPOINTMENT_MISSED,
    }[status]
    _event(topic, appointment)
    return appointment


@transaction.atomic
def appointment_start(*, actor, appointment: Appointment, now=None) -> Appointment:
    """The practitioner starts the visit (opens the video room for a virtual one)."""
    now = now or timezone.now()
    if not user_may_run_visit(actor, appointment):
        raise PermissionDenied
    appointment = _lock(appointment)
    if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED):
        raise ValidationError({"status": _("Only a booked visit can be started.")})
    if appointment.started_at is None:
        appointment.started_at = now
        _save(appointment, actor=actor)
        _event(events.APPOINTMENT_STARTED, appointment)
    return appointment


@transaction.atomic
def appointment_note_write(*, actor, appointment: Appointment, text: str) -> ClinicalNote:
    """The practitioner writes the visit note; the patient's care managers are notified (in the app
    and by email) through `clinical_note_create`, and review it from their worklist."""
    if not user_may_run_visit(actor, appointment):
        raise PermissionDenied
    appointment = _lock(appointment)
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        raise ValidationError({"text": _("No note can be written for a visit that did not take place.")})
    if not (text or "").strip():
        raise ValidationError({"text": _("Write the note before saving it.")})
    note = clinical_note_create(actor=actor, patient=appointment.patient, text=text)
    if appointment.visit_note_id is None:
        appointment.visit_note = note
        _save(appointment, actor=actor)
    _event(events.APPOINTMENT_NOTE_WRITTEN, appointment, note_id=note.pk)
    return note


def reminders_send_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Send the reminders that are due. Each is claimed with a compare-and-set UPDATE and its
    message queued in the same transaction under a unique key, so a second run (or a second
    worker) sends nothing twice. Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    due = list(
        AppointmentReminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for reminder_id in due:
        with transaction.atomic():
            claimed = AppointmentReminder.objects.filter(pk=reminder_id, status=ReminderStatus.PENDING).update(
                status=ReminderStatus.SENT, sent_at=now
            )
            if not claimed:
                continue
            reminder = AppointmentReminder.objects.select_related(
                "appointment__patient", "appointment__practitioner", "appointment__service", "appointment__location"
            ).get(pk=reminder_id)
            appointment = reminder.appointment
            if appointment.status != AppointmentStatus.BOOKED or appointment.start <= now:
                AppointmentReminder.objects.filter(pk=reminder_id).update(status=ReminderStatus.CANCELLED, sent_at=None)
                continue
            messages.appointment_reminder_enqueue(appointment, reminder=reminder)
            sent += 1
    return sent
