"""Reads of consents, permission-aware, and the one question every other part of Salus asks:
may we, for this patient and purpose, at this moment?

The rule is written once, in `_valid_at`: a consent is in force at `at` when it was signed at or
before `at`, was not withdrawn at or before `at`, and had not expired at or before `at`. It reads
the timestamps only, never `status`: the periodic sweep (`consents_expire_due`) records an expiry
in the ledger after the fact, it does not decide it. `consent_is_active`, `consent_active_filter`
and the effective status shown on every page and endpoint are built from the same Q parts.
"""

import datetime as dt
from collections.abc import Mapping

from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.http import Http404
from django.utils import timezone

from core.ids import id_or_404
from patients.models import Patient
from patients.permissions import user_sees_all_patients
from patients.selectors import patient_get_for_user, patients_for_user

from .models import Consent, ConsentStatus, ConsentTemplateVersion, Purpose
from .permissions import user_may_see_consents

# Counts below this are shown as "fewer than", so that a rate never points at a handful of people.
SMALL_COUNT_THRESHOLD = 5


# --- the rule -------------------------------------------------------------------------------


def _withdrawn_by(at: dt.datetime) -> Q:
    return Q(withdrawn_at__lte=at)


def _expired_by(at: dt.datetime) -> Q:
    return Q(expires_at__lte=at)


def _valid_at(at: dt.datetime) -> Q:
    """Consents in force at `at`: signed by then, and neither withdrawn nor expired by then.
    (Negating a comparison on a nullable column keeps the NULLs: never withdrawn, never expires.)"""
    return Q(signed_at__lte=at) & ~_withdrawn_by(at) & ~_expired_by(at)


def _effective_status(at: dt.datetime) -> Case:
    """Active, withdrawn or expired at `at`, by the rule above. A consent both withdrawn and past
    its expiry reads as whichever came first, so the answer never depends on whether the sweep
    ran before the withdrawal. NULL for a consent signed after `at` (it did not exist yet)."""
    return Case(
        When(_valid_at(at), then=Value(ConsentStatus.ACTIVE.value)),
        When(_expired_by(at) & ~Q(withdrawn_at__lt=F("expires_at")), then=Value(ConsentStatus.EXPIRED.value)),
        When(_withdrawn_by(at), then=Value(ConsentStatus.WITHDRAWN.value)),
        default=Value(None),
        output_field=CharField(),
    )


def consent_is_active(*, patient, purpose: Purpose | str, at: dt.datetime | None = None) -> bool:
    """Whether `patient` has consented to `purpose` at `at` (default: now). Always asks the database:
    a withdrawal a moment ago counts, and so does an expiry the sweep has not recorded yet."""
    at = at or timezone.now()
    return Consent.objects.filter(_valid_at(at), patient=patient, purpose=Purpose(purpose)).exists()


def consent_active_filter(*, purpose: Purpose | str, at: dt.datetime | None = None, patient_ref: str = "pk") -> Exists:
    """The queryset form of `consent_is_active`, for segments and campaigns:
    `Patient.objects.filter(consent_active_filter(purpose="marketing_email"))` — one SQL query."""
    at = at or timezone.now()
    return Exists(Consent.objects.filter(_valid_at(at), patient=OuterRef(patient_ref), purpose=Purpose(purpose)))


def consents_with_effective_status(queryset: QuerySet[Consent], *, at: dt.datetime | None = None) -> QuerySet[Consent]:
    """`queryset` with each consent's `effective_status` at `at` computed in the same query."""
    return queryset.annotate(effective_status=_effective_status(at or timezone.now()))


def consent_effective_status(*, consent: Consent, at: dt.datetime | None = None) -> str | None:
    """What applies to one consent at `at` (default: now): "active", "withdrawn", "expired", or
    None when it was signed after `at`. One query; lists read `effective_status` from
    `consents_with_effective_status` instead."""
    return (
        consents_with_effective_status(Consent.objects.filter(pk=consent.pk), at=at)
        .values_list("effective_status", flat=True)  # type: ignore[misc]  # an annotation, unknown to the stubs
        .get()
    )


def consent_shown_status(consent: Consent) -> str | None:
    """The effective status now: the annotation when the consent came from an annotated list, else
    one query."""
    if hasattr(consent, "effective_status"):
        return consent.effective_status
    return consent_effective_status(consent=consent)


# --- one patient's consents -----------------------------------------------------------------


def _pk(value) -> int:
    return id_or_404(value, message="No such consent.")


def consents_for_patient(*, patient, at: dt.datetime | None = None) -> QuerySet[Consent]:
    """The patient's consents with their versions, each with its `effective_status` at `at`."""
    return consents_with_effective_status(
        Consent.objects.filter(patient=patient).select_related("version", "version__template"), at=at
    )


def consent_get_for_patient(*, patient: Patient, pk) -> Consent:
    """One of the patient's own consents, or 404 (another patient's consent does not exist for them)."""
    try:
        return consents_for_patient(patient=patient).get(pk=_pk(pk))
    except Consent.DoesNotExist:
        raise Http404("No such consent.") from None


def consent_current_version(*, purpose: Purpose | str, on: dt.date | None = None) -> ConsentTemplateVersion | None:
    """The wording in force for a purpose: the latest version already effective."""
    on = on or timezone.localdate()
    return (
        ConsentTemplateVersion.objects.filter(template__purpose=purpose, template__active=True, effective_from__lte=on)
        .select_related("template")
        .order_by("-effective_from", "-version")
        .first()
    )


def consent_offers_for_patient(*, patient: Patient, consents=None, on: dt.date | None = None) -> list[ConsentTemplateVersion]:
    """The wordings the patient can still sign: the version in force of each template offered to
    patients, for purposes without a consent in force. One query for the versions (plus one for
    the patient's consents unless the caller already holds them from `consents_for_patient`)."""
    on = on or timezone.localdate()
    if consents is None:
        signed = set(Consent.objects.filter(_valid_at(timezone.now()), patient=patient).values_list("purpose", flat=True))
    else:
        signed = {c.purpose for c in consents if consent_shown_status(c) == ConsentStatus.ACTIVE}
    in_force: dict[str, ConsentTemplateVersion] = {}
    versions = (
        ConsentTemplateVersion.objects.filter(template__active=True, effective_from__lte=on)
        .select_related("template")
        .order_by("template__purpose", "-effective_from", "-version")
    )
    for version in versions:
        in_force.setdefault(version.template.purpose, version)
    return [v for purpose, v in in_force.items() if purpose not in signed]


# --- what staff may see ---------------------------------------------------------------------


def consents_for_user(*, user, at: dt.datetime | None = None) -> QuerySet[Consent]:
    """The consents a staff member may see: those of the patients they may open, each with its
    `effective_status` at `at`."""
    if not user_may_see_consents(user):
        return Consent.objects.none()
    qs = consents_with_effective_status(Consent.objects.select_related("patient", "version", "version__template"), at=at)
    if user_sees_all_patients(user):
        return qs
    return qs.filter(patient__in=Subquery(patients_for_user(user=user).values("pk")))


def consent_get_for_user(*, user, pk) -> Consent:
    """One consent of a patient the staff member may open, or 404."""
    try:
        return consents_for_user(user=user).get(pk=_pk(pk))
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


# --- verification of receipts ---------------------------------------------------------------


def _sha256_or_none(value: str) -> str | None:
    value = (value or "").strip().lower()
    return value if len(value) == 64 and all(c in "0123456789abcdef" for c in value) else None


def consent_find_by_receipt_hash(*, sha256: str) -> Consent | None:
    """The consent whose PDF receipt has this SHA-256: a receipt identifies one consent."""
    digest = _sha256_or_none(sha256)
    if not digest:
        return None
    return consents_with_effective_status(
        Consent.objects.filter(receipt_sha256=digest).select_related("version__template")
    ).first()


def consent_version_find_by_text_hash(*, sha256: str) -> tuple[ConsentTemplateVersion, str] | None:
    """The wording (version and language) whose text has this SHA-256. A text is signed by many
    patients, so this names a wording, never one person's consent."""
    digest = _sha256_or_none(sha256)
    if digest is None:
        return None
    row = Consent.objects.filter(text_sha256=digest).values("version_id", "language").first()
    if row is None:
        return None
    return ConsentTemplateVersion.objects.select_related("template").get(pk=row["version_id"]), row["language"]


def consent_verify_lookup(*, sha256: str) -> tuple[str, Consent | None]:
    """What a SHA-256 is in the ledger: ("receipt", consent) for a receipt's hash, ("text", one
    consent with that text — used only to name the wording) for the hash of a signed wording,
    ("none", None) otherwise."""
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


# --- counts for administrators and outreach -------------------------------------------------


def consent_rates_by_purpose(*, now: dt.datetime | None = None) -> dict:
    """Counts per purpose (active, withdrawn, expired, each by the effective status at `now`) and
    the share of active patients holding a consent in force, with counts under
    SMALL_COUNT_THRESHOLD masked.

    Two queries whatever the number of consents: one aggregate grouped by purpose, one count of
    active patients. At most one consent per patient and purpose is in force at a time (a
    database rule on the ones not yet withdrawn or swept), so counting consents counts patients.
    """
    effective = _effective_status(now or timezone.now())
    rows = {
        row["purpose"]: row
        for row in Consent.objects.order_by()
        .annotate(effective_status=effective)
        .values("purpose")
        .annotate(
            active=Count("pk", filter=Q(effective_status=ConsentStatus.ACTIVE)),
            withdrawn=Count("pk", filter=Q(effective_status=ConsentStatus.WITHDRAWN)),
            expired=Count("pk", filter=Q(effective_status=ConsentStatus.EXPIRED)),
            active_patients=Count("pk", filter=Q(effective_status=ConsentStatus.ACTIVE, patient__active=True)),
        )
    }
    patients = Patient.objects.filter(active=True).count()
    result = []
    for purpose in Purpose:
        row: Mapping = rows.get(purpose.value, {})
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
