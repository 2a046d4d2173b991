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

from accounts.roles import Role
from accounts.selectors import user_has_role, user_roles

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
    return user.is_active and (user.is_superuser or user.has_perm("patients.view_patient"))


def user_may_open_patients(user: User | AnonymousUser) -> bool:
    """Whether the user's role opens patient records at all (outreach and event planners do not)."""
    if not user.is_active:
        return False
    roles = user_roles(user=user)
    return user_sees_all_patients(user) or bool(roles & {Role.CARE_MANAGER, Role.PROVIDER})


def user_may_view_clinical(user: User | AnonymousUser) -> bool:
    return user.is_active and user.has_perm("patients.view_clinical")


def user_editable_fields(user: User | AnonymousUser, patient: Patient) -> frozenset[str]:
    """Fields of `patient` the user may change; empty when they may change nothing."""
    if not user.is_active:
        return frozenset()
    if patient.user_id is not None and patient.user_id == user.pk:
        return PATIENT_SELF_EDITABLE_FIELDS
    if user.is_superuser or user.has_perm("patients.change_patient") or _object_perm(user, "patients.change_patient", patient):
        return STAFF_EDITABLE_FIELDS
    return frozenset()


def user_may_manage_care_team(user: User | AnonymousUser, patient: Patient) -> bool:
    return user.is_active and (
        user.is_superuser
        or (user.has_perm("patients.add_careteammember") and _object_perm(user, "patients.change_patient", patient))
    )


def user_may_write_note(user: User | AnonymousUser, patient: Patient) -> bool:
    return user.is_active and user.has_perm("patients.add_clinicalnote") and user_may_view_clinical(user)


def user_is_patient(user: User | AnonymousUser) -> bool:
    return user_has_role(user=user, role=Role.PATIENT)
