"""Who may book, move, cancel and run which appointments.

- A patient books, moves and cancels their own visits (within the service's notice rules).
- Front desk and administrators see every appointment and book for any patient.
- A care manager sees and books for the patients of their care teams.
- A provider sees the appointments booked with them and those of their care-team patients;
  they run their own visits (arrived, fulfilled, no-show, start, note).
"""

from accounts.permissions import user_is_administrator
from accounts.roles import Role
from accounts.selectors import user_roles
from core.actors import actor_required, is_system_actor
from patients.permissions import user_may_open_patient_record, user_sees_all_patients


def user_is_front_desk_or_admin(user) -> bool:
    return user.is_active and (user_is_administrator(user) or Role.FRONT_DESK in user_roles(user=user))


def user_sees_all_appointments(user) -> bool:
    return user.is_active and (
        user_is_administrator(user) or (user_sees_all_patients(user) and user.has_perm("scheduling.view_appointment"))
    )


def user_is_patient_of(user, patient) -> bool:
    return patient.user_id is not None and patient.user_id == user.pk


def user_is_practitioner_of(user, appointment) -> bool:
    practitioner = getattr(user, "practitioner", None) if user.is_authenticated else None
    return practitioner is not None and appointment.practitioner_id == practitioner.pk


def user_may_book_for(user, patient) -> bool:
    """The patient for themself; staff who book (front desk, administrators, care managers) for a
    patient they may open."""
    actor_required(user)
    if not user.is_authenticated or not user.is_active:
        return False
    return user_is_patient_of(user, patient) or (
        user.has_perm("scheduling.add_appointment") and user_may_open_patient_record(user, patient)
    )


def user_may_change(user, appointment) -> bool:
    """Move or cancel (and take the intake): the patient, the front desk, administrators, the
    patient's care manager."""
    actor_required(user)
    if not (user.is_authenticated and user.is_active):
        return False
    return user_is_patient_of(user, appointment.patient) or (
        user.has_perm("scheduling.change_appointment") and user_may_open_patient_record(user, appointment.patient)
    )


def user_may_run_visit(user, appointment) -> bool:
    """Mark arrived / fulfilled / no-show, start the visit, write its note: the practitioner
    (administrators too, who stand in for a practitioner who is away)."""
    actor_required(user)
    return user.is_active and (user_is_practitioner_of(user, appointment) or user_is_administrator(user))


def user_may_mark_arrived(user, appointment) -> bool:
    return user_may_run_visit(user, appointment) or user_is_front_desk_or_admin(user)


def actor_may_send_reminders(actor) -> bool:
    """Sending the reminders that are due: background work only (beat runs it every minute)."""
    actor_required(actor)
    return is_system_actor(actor)
