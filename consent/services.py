"""Every write to consents: sign, withdraw, expire, new template versions. The portal, the admin,
the API and tasks call these."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.chain import chain_append
from core.actors import SystemActor
from core.files import private_file_write
from core.records import actor_label, actor_user
from core.text import names_match
from notifications.services import outbox_event_emit

from . import events
from .models import (
    LANGUAGES,
    Consent,
    ConsentLedgerEntry,
    ConsentMethod,
    ConsentStatus,
    ConsentTemplate,
    ConsentTemplateVersion,
    LedgerEvent,
    Purpose,
    RepresentativeCapacity,
)
from .permissions import (
    actor_may_sweep_consents,
    user_may_publish_consent_text,
    user_may_sign_consent_for,
    user_may_withdraw_consent,
)
from .receipts import receipt_render, text_sha256
from .selectors import consent_current_version, consent_effective_status

if TYPE_CHECKING:
    from accounts.models import User
    from patients.models import Patient


def _scan_suffix(content: bytes) -> str:
    if content.startswith(b"%PDF"):
        return ".pdf"
    return ".png" if content.startswith(b"\x89PNG") else ".jpg"


def _ledger(*, consent: Consent, event: LedgerEvent, actor: User | None, detail: str = "") -> ConsentLedgerEntry:
    return chain_append(  # type: ignore[return-value]  # chain_append returns the record it is given
        ConsentLedgerEntry(
            consent=consent,
            patient_id=consent.patient_id,
            purpose=consent.purpose,
            event=event,
            actor=actor_user(actor),
            actor_label=actor_label(actor),
            text_sha256=consent.text_sha256,
            receipt_sha256=consent.receipt_sha256,
            detail=detail[:500],
        )
    )


@transaction.atomic
def consent_template_version_create(
    *, actor: User | None, purpose: Purpose | str, effective_from: dt.date, titles: dict[str, str], texts: dict[str, str]
) -> ConsentTemplateVersion:
    """Publish a new wording for a purpose (all three languages required). Versions are never edited."""
    if not user_may_publish_consent_text(actor):
        raise PermissionDenied
    template, _created = ConsentTemplate.objects.get_or_create(purpose=Purpose(purpose))
    template = ConsentTemplate.objects.select_for_update().get(pk=template.pk)
    missing = {
        f"text_{lang}": _("The text is required in every language.") for lang in LANGUAGES if not (texts.get(lang) or "").strip()
    }
    missing |= {
        f"title_{lang}": _("The title is required in every language.")
        for lang in LANGUAGES
        if not (titles.get(lang) or "").strip()
    }
    if missing:
        raise ValidationError(missing)
    number = (template.versions.aggregate(n=Max("version"))["n"] or 0) + 1
    version = ConsentTemplateVersion(
        template=template,
        version=number,
        effective_from=effective_from,
        created_by=actor,
        **{f"title_{lang}": titles[lang].strip() for lang in LANGUAGES},
        **{f"text_{lang}": texts[lang].strip() for lang in LANGUAGES},
    )
    version.full_clean()
    version.save()
    return version


def consent_template_version_is_locked(version: ConsentTemplateVersion) -> bool:
    """A version that someone signed is evidence: its wording can never change."""
    return version.consents.exists()


@transaction.atomic
def consent_sign(
    *,
    actor: User | None,
    patient: Patient,
    purpose: Purpose | str,
    method: ConsentMethod | str,
    signer_name: str,
    representative_capacity: RepresentativeCapacity | str = "",
    language: str | None = None,
    version: ConsentTemplateVersion | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    witness: User | None = None,
    scanned_document: bytes | None = None,
    expires_at: dt.datetime | None = None,
) -> Consent:
    """Record a consent and produce its PDF receipt.

    The text signed is the version's text in the signer's language; its SHA-256 goes into the
    consent row, the ledger and the receipt. In-person consent needs a witness, paper consent
    its scanned form.

    The typed name is the signature: it must be the patient's name (accents, case and word order
    aside), unless a representative signs for them, in a `representative_capacity`, with their own
    name — which the consent then records as the representative's.
    """
    purpose = Purpose(purpose)
    method = ConsentMethod(method)
    if not user_may_sign_consent_for(actor, patient, method):
        raise PermissionDenied
    language = language or patient.preferred_language
    errors = {}
    if language not in LANGUAGES:
        errors["language"] = _("Choose English, French or Italian.")
    version = version or consent_current_version(purpose=purpose)
    if version is None:
        errors["purpose"] = _("There is no consent text in force for this purpose yet.")
    elif version.template.purpose != purpose:
        errors["version"] = _("This version belongs to another purpose.")
    elif version.effective_from > timezone.localdate():
        errors["version"] = _("This version is not in force yet.")
    signer_name = " ".join((signer_name or "").split())
    representative_capacity = representative_capacity or ""
    if representative_capacity and representative_capacity not in RepresentativeCapacity.values:
        errors["representative_capacity"] = _("Choose one of the capacities offered.")
    if not signer_name:
        errors["signer_name"] = _("Type your full name to sign.")
    elif len(signer_name) > 200:
        errors["signer_name"] = _("A name is at most 200 characters.")
    elif not representative_capacity and not names_match(signer_name, patient.given_name, patient.family_name):
        errors["signer_name"] = _(
            "The name typed is not the patient's name. Type the patient's full name, or, when signing for "
            "the patient, choose in what capacity and type your own name."
        )
    elif representative_capacity and names_match(signer_name, patient.given_name, patient.family_name):
        errors["signer_name"] = _("A representative signs with their own name, not the patient's.")
    if method is ConsentMethod.IN_PERSON and witness is None:
        errors["witness"] = _("An in-person consent needs a staff witness.")
    if method is ConsentMethod.PAPER and not scanned_document:
        errors["scanned_document"] = _("Attach the scanned, signed form.")
    if (
        scanned_document
        and not scanned_document.startswith(b"%PDF")
        and scanned_document[:3] != b"\xff\xd8\xff"
        and not scanned_document.startswith(b"\x89PNG")
    ):
        errors["scanned_document"] = _("The scan must be a PDF, JPEG or PNG file.")
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = _("The expiry must be in the future.")
    if errors:
        raise ValidationError(errors)
    assert version is not None  # else an error above
    text = version.text_for(language)
    consent = Consent(
        patient=patient,
        purpose=purpose,
        version=version,
        language=language,
        method=method,
        signer_name=signer_name,
        representative_name=signer_name if representative_capacity else "",
        representative_capacity=representative_capacity,
        signed_at=timezone.now(),
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:300],
        recorded_by=actor if getattr(actor, "is_staff", False) else None,
        witness=witness,
        text_sha256=text_sha256(text),
        expires_at=expires_at,
    )
    consent._history_user = actor_user(actor)  # type: ignore[attr-defined]  # read by simple-history on save
    # A consent of this purpose past its expiry is no longer in force, whether or not the sweep has
    # recorded it: record its expiry now, so that the patient can sign again at once.
    _expire_lapsed(patient=patient, purpose=purpose, now=consent.signed_at)
    # The one-active-per-purpose rule is left to the database (IntegrityError below): no race window.
    consent.full_clean(exclude=["receipt_path", "receipt_sha256"], validate_constraints=False)
    try:
        with transaction.atomic():
            consent.save()
    except IntegrityError:
        raise ValidationError({"purpose": _("This patient already has an active consent for this purpose.")}) from None
    # A rolled-back signature leaves its files unreferenced; private_files_sweep removes them.
    if scanned_document:
        consent.scanned_document = private_file_write(
            folder="consent-scans", suffix=_scan_suffix(scanned_document), content=scanned_document
        )
    pdf = receipt_render(consent=consent, patient=patient, title=version.title_for(language), text=text)
    consent.receipt_path = private_file_write(folder="consent-receipts", suffix=".pdf", content=pdf)
    consent.receipt_sha256 = hashlib.sha256(pdf).hexdigest()
    consent.save(update_fields=["scanned_document", "receipt_path", "receipt_sha256"])
    _ledger(consent=consent, event=LedgerEvent.SIGNED, actor=actor)
    outbox_event_emit(
        topic=events.CONSENT_SIGNED,
        patient_id=patient.pk,
        payload={"patient_id": patient.pk, "consent_id": consent.pk, "purpose": purpose},
    )
    return consent


@transaction.atomic
def consent_withdraw(*, actor: User | None, consent: Consent, reason: str = "") -> Consent:
    """Withdraw a consent. From this commit on, `consent_is_active` answers no, everywhere."""
    if not user_may_withdraw_consent(actor, consent):
        raise PermissionDenied
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    now = timezone.now()
    # The rule every reader uses: a consent past its expiry is not in force, whether swept or not.
    if consent_effective_status(consent=consent, at=now) != ConsentStatus.ACTIVE:
        raise ValidationError({"status": _("Only a consent in force can be withdrawn.")})
    consent.status = ConsentStatus.WITHDRAWN
    consent.withdrawn_at = now
    consent.withdrawn_by = actor
    consent.withdrawal_reason = (reason or "").strip()[:500]
    consent._history_user = consent.withdrawn_by  # type: ignore[attr-defined]  # read by simple-history on save
    consent.save()
    _ledger(consent=consent, event=LedgerEvent.WITHDRAWN, actor=actor, detail=consent.withdrawal_reason)
    outbox_event_emit(
        topic=events.CONSENT_WITHDRAWN,
        patient_id=consent.patient_id,
        payload={"patient_id": consent.patient_id, "consent_id": consent.pk, "purpose": consent.purpose},
    )
    return consent


def consents_expire_due(*, actor, now: dt.datetime | None = None) -> int:
    """Mark consents past their expiry as expired (periodic task). Each one in its own transaction."""
    if not actor_may_sweep_consents(actor):
        raise PermissionDenied
    now = now or timezone.now()
    done = 0
    for pk in Consent.objects.filter(status=ConsentStatus.ACTIVE, expires_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            done += _expire_lapsed(pk=pk, now=now, actor=actor)
    return done


_EXPIRY_ACTOR = SystemActor("consent expiry")


def _expire_lapsed(*, now: dt.datetime, actor=_EXPIRY_ACTOR, pk: int | None = None, patient=None, purpose=None) -> int:
    """Record the expiry of consents still marked active past their `expires_at` (one consent, or
    a patient's consents of one purpose), with their ledger rows and events. Runs in the caller's
    transaction; the rows are locked first, so a sweep and a signature never record one twice."""
    lapsed = Consent.objects.select_for_update().filter(status=ConsentStatus.ACTIVE, expires_at__lte=now)
    lapsed = lapsed.filter(pk=pk) if pk is not None else lapsed.filter(patient=patient, purpose=purpose)
    done = 0
    for consent in lapsed.order_by("pk"):
        consent.status = ConsentStatus.EXPIRED
        consent.save(update_fields=["status"])
        _ledger(consent=consent, event=LedgerEvent.EXPIRED, actor=actor)
        outbox_event_emit(
            topic=events.CONSENT_EXPIRED,
            patient_id=consent.patient_id,
            payload={"patient_id": consent.patient_id, "consent_id": consent.pk, "purpose": consent.purpose},
        )
        done += 1
    return done


def consent_files_sweep(*, actor) -> int:
    """Remove receipt and scan files that no consent references (periodic task)."""
    if not actor_may_sweep_consents(actor):
        raise PermissionDenied
    from core.files import private_files_sweep

    referenced = set(Consent.objects.exclude(receipt_path="").values_list("receipt_path", flat=True))
    referenced |= set(Consent.objects.exclude(scanned_document="").values_list("scanned_document", flat=True))
    return private_files_sweep(referenced=referenced, folders=("consent-receipts", "consent-scans"))
