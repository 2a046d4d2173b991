"""Who may see and record which patient's consents, and the permission-aware reads built on that.

- A patient sees and signs their own consents (portal, /api/v1/me/consents/).
- Staff whose role opens patient records (care team, front desk, administrators) see and record
  the consents of exactly the patients they may open (`patients_for_user`); anything else is a 404.
- Outreach staff and administrators see consent *rates* (counts per purpose), never one person's
  consent; event planners see neither.
- Consent templates and the ledger are for administrators.
"""

import datetime as dt

from django.db.models import Count, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.permissions import user_is_administrator
from accounts.roles import Role
from accounts.selectors import user_roles
from core.actors import actor_required, is_system_actor
from core.ids import id_or_404
from patients.models import Patient
from patients.permissions import user_may_open_patient_record, user_may_open_patients, user_sees_all_patients
from patients.selectors import patient_get_for_user, patients_for_user

from .models import Consent, ConsentMethod, ConsentStatus, ConsentTemplateVersion, Purpose

# Counts below this are shown as "fewer than", so that a rate never points at a handful of people.
SMALL_COUNT_THRESHOLD = 5


def _pk(value) -> int:
    return id_or_404(value, message="No such consent.")


def user_may_see_consents(user) -> bool:
    """Whether the user's role opens individual patients' consents at all (staff side)."""
    return bool(user.is_authenticated and user.is_staff and user_may_open_patients(user))


def user_may_see_consent_rates(user) -> bool:
    """Counts per purpose: administrators and outreach staff (who check consent before sending)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff) and (
        user_is_administrator(user) or Role.OUTREACH in user_roles(user=user)
    )


def user_may_open_patient(user, patient_id) -> bool:
    """Whether staff may open this patient (and therefore their consents)."""
    return user_may_see_consents(user) and patients_for_user(user=user).filter(pk=patient_id).exists()


def consents_for_user(*, user) -> QuerySet[Consent]:
    """The consents a staff member may see: those of the patients they may open."""
    if not user_may_see_consents(user):
        return Consent.objects.none()
    qs = Consent.objects.select_related("patient", "version", "version__template")
    if user_sees_all_patients(user):
        return qs
    return qs.filter(patient__in=Subquery(patients_for_user(user=user).values("pk")))


def consent_get_for_user(*, user, pk) -> Consent:
    """One consent of a patient the staff member may open, or 404."""
    try:
        return consents_for_user(user=user).get(pk=_pk(pk))
    except Consent.DoesNotExist:
        raise Http404("No such consent.") from None


def consent_get_for_patient(*, patient: Patient, pk) -> Consent:
    """One of the patient's own consents, or 404 (another patient's consent does not exist for them)."""
    try:
        return Consent.objects.select_related("version", "version__template").get(pk=_pk(pk), patient=patient)
    except Consent.DoesNotExist:
        raise Http404("No such consent.") from None


def patient_get_for_consents(*, user, pk) -> Patient:
    """A patient whose consents the staff member may see and record, or 404."""
    if not user_may_see_consents(user):
        raise Http404("No such patient.")
    return patient_get_for_user(user=user, pk=_pk(pk))


def consent_receipt_get_for_user(*, user, pk) -> tuple[Consent, bool]:
    """The consent whose receipt the user may download, and whether the reader is staff (to be
    access-logged). The patient themself, or staff who may open the patient; otherwise 404."""
    pk = _pk(pk)
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such consent.")
    own = Consent.objects.select_related("patient").filter(pk=pk, patient__user=user, patient__active=True).first()
    if own is not None:
        return own, False
    return consent_get_for_user(user=user, pk=pk), True


def consent_display_status(consent: Consent, now: dt.datetime | None = None) -> str:
    """Active, withdrawn or expired as a reader should see it: an active consent past its expiry
    is expired even before the periodic task marks it so."""
    now = now or timezone.now()
    if consent.status == ConsentStatus.ACTIVE and consent.expires_at is not None and consent.expires_at <= now:
        return ConsentStatus.EXPIRED
    return consent.status


def consent_offers_for_patient(*, patient: Patient, consents=None, on: dt.date | None = None) -> list[ConsentTemplateVersion]:
    """The wordings the patient can still sign: the version in force of each template offered to
    patients, for purposes without an active consent. One query for the versions (plus one for
    the patient's consents unless the caller already holds them)."""
    on = on or timezone.localdate()
    if consents is None:
        signed = set(Consent.objects.filter(patient=patient, status=ConsentStatus.ACTIVE).values_list("purpose", flat=True))
    else:
        signed = {c.purpose for c in consents if c.status == ConsentStatus.ACTIVE}
    in_force: dict[str, ConsentTemplateVersion] = {}
    versions = (
        ConsentTemplateVersion.objects.filter(template__active=True, effective_from__lte=on)
        .select_related("template")
        .order_by("template__purpose", "-effective_from", "-version")
    )
    for version in versions:
        in_force.setdefault(version.template.purpose, version)
    return [v for purpose, v in in_force.items() if purpose not in signed]


def consent_verify_lookup(*, sha256: str) -> tuple[str, Consent | None]:
    """What a SHA-256 is in the ledger: ("receipt", consent) for a receipt's hash, ("text", one
    consent with that text — used only to name the wording) for the hash of a signed wording,
    ("none", None) otherwise."""
    from .selectors import consent_find_by_receipt_hash, consent_version_find_by_text_hash

    consent = consent_find_by_receipt_hash(sha256=sha256)
    if consent is not None:
        return "receipt", consent
    wording = consent_version_find_by_text_hash(sha256=sha256)
    if wording is None:
        return "none", None
    version, language = wording
    return "text", Consent.objects.filter(version=version, language=language, text_sha256=sha256.strip().lower()).select_related(
        "version__template"
    ).first()


def consent_rates_by_purpose(*, now: dt.datetime | None = None) -> dict:
    """Counts per purpose (active, withdrawn, expired) and the share of active patients holding
    an active consent, with counts under SMALL_COUNT_THRESHOLD masked.

    Two queries whatever the number of consents: one aggregate grouped by purpose, one count of
    active patients. Only one active consent per patient and purpose exists (a database rule),
    so counting active consents of active patients counts patients.
    """
    now = now or timezone.now()
    in_force = Q(status=ConsentStatus.ACTIVE) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    lapsed = Q(status=ConsentStatus.EXPIRED) | (Q(status=ConsentStatus.ACTIVE) & Q(expires_at__lte=now))
    rows = {
        row["purpose"]: row
        for row in Consent.objects.order_by()
        .values("purpose")
        .annotate(
            active=Count("pk", filter=in_force),
            withdrawn=Count("pk", filter=Q(status=ConsentStatus.WITHDRAWN)),
            expired=Count("pk", filter=lapsed),
            active_patients=Count("pk", filter=in_force & Q(patient__active=True)),
        )
    }
    patients = Patient.objects.filter(active=True).count()
    result = []
    for purpose in Purpose:
        row = rows.get(purpose.value, {})
        active_patients = row.get("active_patients", 0)
        small = 0 < active_patients < SMALL_COUNT_THRESHOLD
        result.append(
            {
                "purpose": purpose.value,
                "label": purpose.label,
                "active": _masked(row.get("active", 0)),
                "withdrawn": _masked(row.get("withdrawn", 0)),
                "expired": _masked(row.get("expired", 0)),
                "share": None if small or not patients else round(100 * active_patients / patients, 1),
            }
        )
    return {"patients": patients, "rows": result}


def _masked(n: int) -> int | None:
    """None stands for "fewer than SMALL_COUNT_THRESHOLD" (but more than none)."""
    return None if 0 < n < SMALL_COUNT_THRESHOLD else n


# --- the yes/no rules the consent services check their actor against ----------------------------
# How a patient signs for themself (the portal, /api/v1/me/consents/), and how staff record a
# consent the patient gave them (the admin, /api/v1/patients/{id}/consents/).
PATIENT_SIGNING_METHODS = frozenset({ConsentMethod.PORTAL, ConsentMethod.API})
STAFF_RECORDING_METHODS = frozenset({ConsentMethod.IN_PERSON, ConsentMethod.PAPER, ConsentMethod.API})


def _is_the_patient(user, patient) -> bool:
    return patient.user_id is not None and patient.user_id == user.pk


def user_may_sign_consent_for(user, patient, method) -> bool:
    """A patient for themself (portal, API); staff who may open the patient record a consent given
    in person, on paper or collected by an API client."""
    actor_required(user)
    if not (user.is_authenticated and user.is_active):
        return False
    if _is_the_patient(user, patient):
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
    return _is_the_patient(user, patient) or (user_may_see_consents(user) and user_may_open_patient_record(user, patient))


def user_may_publish_consent_text(user) -> bool:
    """New wordings of a consent template: administrators (as the template admin allows)."""
    actor_required(user)
    return user_is_administrator(user)


def actor_may_sweep_consents(actor) -> bool:
    """Expiring consents past their date and removing unreferenced files: background work only."""
    actor_required(actor)
    return is_system_actor(actor)
