"""Who may see and record which patient's consents: yes/no rules about users, no queries of consents.
The permission-aware reads built on them live in `consent.selectors`.

- A patient sees and signs their own consents (portal, /api/v1/me/consents/).
- Staff whose role opens patient records (care team, front desk, administrators) see and record
  the consents of exactly the patients they may open (`patients_for_user`); anything else is a 404.
- Outreach staff and administrators see consent *rates* (counts per purpose), never one person's
  consent; event planners see neither.
- Consent templates and the ledger are for administrators.
"""

from accounts.permissions import user_is_administrator
from accounts.roles import Role
from accounts.selectors import user_roles
from core.actors import actor_required, is_system_actor
from patients.permissions import user_is_patient_of, user_may_open_patient_record, user_may_open_patients

from .models import ConsentMethod


def user_may_see_consents(user) -> bool:
    """Whether the user's role opens individual patients' consents at all (staff side)."""
    return bool(user.is_authenticated and user.is_staff and user_may_open_patients(user))


def user_may_see_consent_rates(user) -> bool:
    """Counts per purpose: administrators and outreach staff (who check consent before sending)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff) and (
        user_is_administrator(user) or Role.OUTREACH in user_roles(user=user)
    )


# --- the yes/no rules the consent services check their actor against ----------------------------
# How a patient signs for themself (the portal, /api/v1/me/consents/), and how staff record a
# consent the patient gave them (the admin, /api/v1/patients/{id}/consents/).
PATIENT_SIGNING_METHODS = frozenset({ConsentMethod.PORTAL, ConsentMethod.API})
STAFF_RECORDING_METHODS = frozenset({ConsentMethod.IN_PERSON, ConsentMethod.PAPER, ConsentMethod.API})


def user_may_sign_consent_for(user, patient, method) -> bool:
    """A patient for themself (portal, API); staff who may open the patient record a consent given
    in person, on paper or collected by an API client."""
    actor_required(user)
    if not (user.is_authenticated and user.is_active):
        return False
    if user_is_patient_of(user, patient):
        return ConsentMethod(method) in PATIENT_SIGNING_METHODS
    return (
        ConsentMethod(method) in STAFF_RECORDING_METHODS
        and user_may_see_consents(user)
        and user_may_open_patient_record(user, patient)
    )


def user_may_withdraw_consent(user, consent) -> bool:
    """The patient themself, or staff who may open the patient (an administrator carrying out an
    erasure is one)."""
    actor_required(user)
    if not (user.is_authenticated and user.is_active):
        return False
    patient = consent.patient
    return user_is_patient_of(user, patient) or (user_may_see_consents(user) and user_may_open_patient_record(user, patient))


def user_may_publish_consent_text(user) -> bool:
    """New wordings of a consent template: administrators (as the template admin allows)."""
    actor_required(user)
    return user_is_administrator(user)


def actor_may_sweep_consents(actor) -> bool:
    """Expiring consents past their date and removing unreferenced files: background work only."""
    actor_required(actor)
    return is_system_actor(actor)
