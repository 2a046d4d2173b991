"""Who may book, move, cancel and run which appointments.

- A patient books, moves and cancels their own visits (within the service's notice rules).
- Front desk and administrators see every appointment and book for any patient.
- A care manager sees and books for the patients of their care teams.
- A provider sees the appointments booked with them and those of their care-team patients;
  they run their own visits (arrived, fulfilled, no-show, start, note).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.permissions import user_is_administrator
from accounts.roles import Role
from accounts.selectors import user_roles
from core.actors import actor_required, is_system_actor
from patients.permissions import user_is_patient_of, user_may_open_patient_record, user_sees_all_patients

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User
    from patients.models import Patient

    from .models import Appointment


def user_is_front_desk_or_admin(user: User | AnonymousUser) -> bool:
    return user.is_active and (user_is_administrator(user) or Role.FRONT_DESK in user_roles(user=user))


def user_sees_all_appointments(user: User | AnonymousUser) -> bool:
    return user.is_active and (
        user_is_administrator(user) or (user_sees_all_patients(user) and user.has_perm("scheduling.view_appointment"))
    )


def user_is_practitioner_of(user: User | AnonymousUser, appointment: Appointment) -> bool:
    practitioner = getattr(user, "practitioner", None) if user.is_authenticated else None
    return practitioner is not None and appointment.practitioner_id == practitioner.pk


def user_may_book_for(user: User | AnonymousUser, patient: Patient) -> bool:
    """The patient for themself; staff who book (front desk, administrators, care managers) for a
    patient they may open."""
    actor_required(user)
    if not user.is_authenticated or not user.is_active:
        return False
    return user_is_patient_of(user, patient) or (
        user.has_perm("scheduling.add_appointment") and user_may_open_patient_record(user, patient)
    )


def user_may_change(user: User | AnonymousUser, appointment: Appointment) -> bool:
    """Move or cancel (and take the intake): the patient, the front desk, administrators, the
    patient's care manager."""
    actor_required(user)
    if not (user.is_authenticated and user.is_active):
        return False
    return user_is_patient_of(user, appointment.patient) or (
        user.has_perm("scheduling.change_appointment") and user_may_open_patient_record(user, appointment.patient)
    )


def user_may_run_visit(user: User | AnonymousUser, appointment: Appointment) -> bool:
    """Mark arrived / fulfilled / no-show, start the visit, write its note: the practitioner
    (administrators too, who stand in for a practitioner who is away)."""
    actor_required(user)
    return user.is_active and (user_is_practitioner_of(user, appointment) or user_is_administrator(user))


def user_may_mark_arrived(user: User | AnonymousUser, appointment: Appointment) -> bool:
    return user_may_run_visit(user, appointment) or user_is_front_desk_or_admin(user)


def actor_may_send_reminders(actor) -> bool:
    """Sending the reminders that are due: background work only (beat runs it every minute)."""
    actor_required(actor)
    return is_system_actor(actor)
