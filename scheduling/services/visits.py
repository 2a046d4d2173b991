"""The visit itself: arrival, start, fulfilled or missed, and the practitioner's note."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.records import save_validated
from patients.models import ClinicalNote
from patients.services import clinical_note_create

from .. import events
from ..models import Appointment, AppointmentStatus, ReminderStatus
from ..permissions import user_may_mark_arrived, user_may_run_visit
from .common import appointment_lock, event_emit

if TYPE_CHECKING:
    import datetime as dt

    from accounts.models import User

_STATUS_MOVES = {
    AppointmentStatus.ARRIVED: {AppointmentStatus.BOOKED},
    AppointmentStatus.FULFILLED: {AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED},
    AppointmentStatus.NO_SHOW: {AppointmentStatus.BOOKED},
}


@transaction.atomic
def appointment_status_set(
    *, actor: User, appointment: Appointment, status: AppointmentStatus | str, now: dt.datetime | None = None
) -> Appointment:
    """Mark a visit arrived, fulfilled or no-show (the practitioner; the front desk marks arrivals)."""
    now = now or timezone.now()
    status = AppointmentStatus(status)
    allowed = user_may_mark_arrived if status is AppointmentStatus.ARRIVED else user_may_run_visit
    if not allowed(actor, appointment):
        raise PermissionDenied
    appointment = appointment_lock(appointment)
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
    save_validated(appointment, actor=actor)
    appointment.reminders.filter(status=ReminderStatus.PENDING).update(status=ReminderStatus.CANCELLED)
    topic = {
        AppointmentStatus.ARRIVED: events.APPOINTMENT_ARRIVED,
        AppointmentStatus.FULFILLED: events.APPOINTMENT_FULFILLED,
        AppointmentStatus.NO_SHOW: events.APPOINTMENT_MISSED,
    }[status]
    event_emit(topic, appointment)
    return appointment


@transaction.atomic
def appointment_start(*, actor: User, appointment: Appointment, now: dt.datetime | None = None) -> Appointment:
    """The practitioner starts the visit (opens the video room for a virtual one)."""
    now = now or timezone.now()
    if not user_may_run_visit(actor, appointment):
        raise PermissionDenied
    appointment = appointment_lock(appointment)
    if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED):
        raise ValidationError({"status": _("Only a booked visit can be started.")})
    if appointment.started_at is None and now > appointment.over_at():
        raise ValidationError(
            {"status": _("This visit is over: it can no longer be started. Mark it fulfilled or as missed instead.")}
        )
    if appointment.started_at is None:
        appointment.started_at = now
        save_validated(appointment, actor=actor)
        event_emit(events.APPOINTMENT_STARTED, appointment)
    return appointment


@transaction.atomic
def appointment_note_write(*, actor: User, appointment: Appointment, text: str) -> ClinicalNote:
    """The practitioner writes the visit note; the patient's care managers are notified (in the app
    and by email) through `clinical_note_create`, and review it from their worklist."""
    if not user_may_run_visit(actor, appointment):
        raise PermissionDenied
    appointment = appointment_lock(appointment)
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        raise ValidationError({"text": _("No note can be written for a visit that did not take place.")})
    if not (text or "").strip():
        raise ValidationError({"text": _("Write the note before saving it.")})
    note = clinical_note_create(actor=actor, patient=appointment.patient, text=text)
    if appointment.visit_note_id is None:
        appointment.visit_note = note
        save_validated(appointment, actor=actor)
    event_emit(events.APPOINTMENT_NOTE_WRITTEN, appointment, note_id=note.pk)
    return note
