"""Who may see and change which patients, and which parts of their record.

Two questions, answered separately:
- *which* patients: every patient for roles with the model-level `patients.view_patient`
  (front desk, administrators); per patient for care managers and providers, through the
  guardian object permission that care-team membership grants; one's own record for a patient.
- *what*: clinical data needs `patients.view_clinical` (care managers, providers,
  administrators); front desk never has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.permissions import user_is_administrator
from accounts.roles import Role
from accounts.selectors import user_has_role, user_roles
from core.actors import actor_required, is_system_actor

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    from .models import Patient

# What being on a care team in a given role grants on that patient.
CARE_TEAM_OBJECT_PERMISSIONS = {
    "care_manager": ("view_patient", "change_patient"),
    "provider": ("view_patient",),
    "nurse": ("view_patient",),
    "other": ("view_patient",),
}

# Fields a patient may change on their own record (portal, /api/v1/me/).
PATIENT_SELF_EDITABLE_FIELDS = frozenset(
    {"email", "phone", "address_line", "postal_code", "city", "country", "preferred_language", "preferred_channel", "time_zone"}
)
STAFF_EDITABLE_FIELDS = PATIENT_SELF_EDITABLE_FIELDS | {
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "gender",
    "active",
    "deceased",
    "deceased_at",
}


def _object_perm(user: User | AnonymousUser, perm: str, patient: Patient) -> bool:
    """`user.has_perm(perm, patient)`, remembered on the user object for the request: the admin
    asks the same question for every inline of a page."""
    cache = getattr(user, "_salus_object_perms", None)
    if cache is None:
        cache = user._salus_object_perms = {}  # type: ignore[union-attr]  # a per-request cache
    key = (perm, patient.pk)
    if key not in cache:
        cache[key] = user.has_perm(perm, patient)
    return cache[key]


def user_sees_all_patients(user: User | AnonymousUser) -> bool:
    return user.is_active and (user_is_administrator(user) or user.has_perm("patients.view_patient"))


def user_may_open_patients(user: User | AnonymousUser) -> bool:
    """Whether the user's role opens patient records at all (outreach and event planners do not)."""
    if not user.is_active:
        return False
    roles = user_roles(user=user)
    return user_sees_all_patients(user) or bool(roles & {Role.CARE_MANAGER, Role.PROVIDER})


def user_may_view_clinical(user: User | AnonymousUser) -> bool:
    return user.is_active and user.has_perm("patients.view_clinical")


def user_is_patient_of(user: User | AnonymousUser, patient: Patient) -> bool:
    """Whether the user is this patient, signed in to their own portal account."""
    return patient.user_id is not None and patient.user_id == user.pk


def user_editable_fields(user: User | AnonymousUser, patient: Patient) -> frozenset[str]:
    """Fields of `patient` the user may change; empty when they may change nothing."""
    actor_required(user)
    if not user.is_active:
        return frozenset()
    if user_is_patient_of(user, patient):
        return PATIENT_SELF_EDITABLE_FIELDS
    if (
        user_is_administrator(user)
        or user.has_perm("patients.change_patient")
        or _object_perm(user, "patients.change_patient", patient)
    ):
        return STAFF_EDITABLE_FIELDS
    return frozenset()


def user_may_manage_care_team(user: User | AnonymousUser, patient: Patient) -> bool:
    actor_required(user)
    return user.is_active and (
        user_is_administrator(user)
        or (user.has_perm("patients.add_careteammember") and _object_perm(user, "patients.change_patient", patient))
    )


def user_may_write_note(user: User | AnonymousUser, patient: Patient) -> bool:
    """Clinicians (care managers, providers, administrators). The patient is not checked here: a
    practitioner writes the note of their own visit (`appointment_note_write`) whether or not they
    are on the patient's care team; the pages that offer a note form show only patients one may open."""
    actor_required(user)
    return user.is_active and user.has_perm("patients.add_clinicalnote") and user_may_view_clinical(user)


def user_is_patient(user: User | AnonymousUser) -> bool:
    return user_has_role(user=user, role=Role.PATIENT)


# --- the yes/no rules the patient services check their actor against ----------------------------


def user_may_open_patient_record(user, patient) -> bool:
    """Whether a staff member may open this patient's record (what `patients_for_user` lists):
    every patient for front desk and administrators, their care team's patients for the others."""
    actor_required(user)
    if not (user.is_authenticated and user_may_open_patients(user)):
        return False
    # Not the request-wide cache of `_object_perm`: a service may run right after a membership
    # changed on the same user object.
    return user_sees_all_patients(user) or user.has_perm("patients.view_patient", patient)


def user_may_register_patient(user) -> bool:
    """Front desk and administrators (the API and the admin's add form ask the same)."""
    actor_required(user)
    return bool(user.is_authenticated and user.is_active and user.has_perm("patients.add_patient"))


def user_may_change_patient_details(user, patient) -> bool:
    """Identifiers and contact persons: staff who may change the patient's record (front desk,
    administrators, the patient's care managers); not the patient, not a provider."""
    return bool(user_editable_fields(user, patient) - PATIENT_SELF_EDITABLE_FIELDS)


def user_may_link_portal_account(user, patient) -> bool:
    """Handing a patient record to a portal account opens the record to whoever holds the account:
    administrators only."""
    actor_required(user)
    return user_is_administrator(user)


def user_may_redact_note_mentions(user) -> bool:
    """Rewriting words of a clinical note (a mention of someone erased) is an administrator's
    decision, taken from the erasure's review list."""
    actor_required(user)
    return user_is_administrator(user)


def user_may_review_note(user, note) -> bool:
    """Administrators, or a care manager currently on the patient's care team."""
    actor_required(user)
    if not (user.is_authenticated and user.is_active):
        return False
    return (
        user_is_administrator(user)
        or note.patient.care_team.filter(user=user, role="care_manager", period_end__isnull=True).exists()
    )


def actor_may_be_access_logged(actor) -> bool:
    """Whose read is written to the access log: a signed-in user (staff, an API client, a patient
    reading their own record) or background work naming itself. The read was authorized by the
    selector that fetched it; the log only refuses an actor that names nobody."""
    actor_required(actor)
    return is_system_actor(actor) or bool(actor.is_authenticated)
