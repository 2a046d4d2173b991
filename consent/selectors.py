"""The one question every other part of Salus asks: may we, for this patient and purpose, now?"""

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from .models import Consent, ConsentTemplateVersion, Purpose


def _valid_at(at: dt.datetime) -> Q:
    """Consents in force at `at`: signed by then, and not yet withdrawn or expired at that moment."""
    return (
        Q(signed_at__lte=at)
        & (Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=at))
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))
    )


def consent_is_active(patient, purpose: Purpose | str, at: dt.datetime | None = None) -> bool:
    """Whether `patient` has consented to `purpose` at `at` (default: now). Always asks the database:
    a withdrawal a moment ago counts."""
    at = at or timezone.now()
    return Consent.objects.filter(_valid_at(at), patient=patient, purpose=Purpose(purpose)).exists()


def consent_active_filter(purpose: Purpose | str, at: dt.datetime | None = None, *, patient_ref: str = "pk") -> Exists:
    """The queryset form of `consent_is_active`, for segments and campaigns:
    `Patient.objects.filter(consent_active_filter("marketing_email"))` — one SQL query."""
    at = at or timezone.now()
    return Exists(Consent.objects.filter(_valid_at(at), patient=OuterRef(patient_ref), purpose=Purpose(purpose)))


def consents_for_patient(*, patient) -> QuerySet[Consent]:
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


def consent_find_by_hash(*, sha256: str) -> Consent | None:
    """The consent whose receipt or signed text has this SHA-256, if any."""
    sha256 = (sha256 or "").strip().lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        return None
    return Consent.objects.filter(Q(receipt_sha256=sha256) | Q(text_sha256=sha256)).select_related("version__template").first()
