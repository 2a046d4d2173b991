"""The one question every other part of Salus asks: may we, for this patient and purpose, now?"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from .models import Consent, ConsentTemplateVersion, Purpose

if TYPE_CHECKING:
    from patients.models import Patient


def _valid_at(at: dt.datetime) -> Q:
    """Consents in force at `at`: signed by then, and not yet withdrawn or expired at that moment."""
    return (
        Q(signed_at__lte=at)
        & (Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=at))
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))
    )


def consent_is_active(patient: Patient, purpose: Purpose | str, at: dt.datetime | None = None) -> bool:
    """Whether `patient` has consented to `purpose` at `at` (default: now). Always asks the database:
    a withdrawal a moment ago counts."""
    at = at or timezone.now()
    return Consent.objects.filter(_valid_at(at), patient=patient, purpose=Purpose(purpose)).exists()


def consent_active_filter(purpose: Purpose | str, at: dt.datetime | None = None, *, patient_ref: str = "pk") -> Exists:
    """The queryset form of `consent_is_active`, for segments and campaigns:
    `Patient.objects.filter(consent_active_filter("marketing_email"))` — one SQL query."""
    at = at or timezone.now()
    return Exists(Consent.objects.filter(_valid_at(at), patient=OuterRef(patient_ref), purpose=Purpose(purpose)))


def consents_for_patient(*, patient: Patient) -> QuerySet[Consent]:
    return Consent.objects.filter(patient=patient).select_related("version", "version__template")


def consent_current_version(*, purpose: Purpose | str, on: dt.date | None = None) -> ConsentTemplateVersion | None:
    """The wording in force for a purpose: the latest version already effective."""
    on = on or timezone.localdate()
    return (
        ConsentTemplateVersion.objects.filter(template__purpose=purpose, template__active=True, effective_from__lte=on)
        .select_related("template")
        .order_by("-effective_from", "-version")
        .first()
    )


def _sha256_or_none(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if len(value) == 64 and all(c in "0123456789abcdef" for c in value) else None


def consent_find_by_receipt_hash(*, sha256: str | None) -> Consent | None:
    """The consent whose PDF receipt has this SHA-256: a receipt identifies one consent."""
    sha256 = _sha256_or_none(sha256)
    return Consent.objects.filter(receipt_sha256=sha256).select_related("version__template").first() if sha256 else None


def consent_version_find_by_text_hash(*, sha256: str | None) -> tuple[ConsentTemplateVersion, str] | None:
    """The wording (version and language) whose text has this SHA-256. A text is signed by many
    patients, so this names a wording, never one person's consent."""
    sha256 = _sha256_or_none(sha256)
    if sha256 is None:
        return None
    row = Consent.objects.filter(text_sha256=sha256).values("version_id", "language").first()
    if row is None:
        return None
    return ConsentTemplateVersion.objects.select_related("template").get(pk=row["version_id"]), row["language"]
