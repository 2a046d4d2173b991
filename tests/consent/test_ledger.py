"""The consent ledger: signing, the one question (`consent_is_active`), withdrawal, receipts."""

import datetime as dt
import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from audit.chain import chain_verify
from consent.models import Consent, ConsentLedgerEntry, Purpose
from consent.selectors import (
    consent_active_filter,
    consent_find_by_receipt_hash,
    consent_is_active,
    consent_version_find_by_text_hash,
)
from consent.services import consent_sign, consent_withdraw, consents_expire_due
from core.actors import SystemActor
from core.files import private_file_path
from notifications.models import OutboxItem
from patients.models import Patient

from .conftest import TEXTS

pytestmark = pytest.mark.django_db


def _sign(patient, actor=None, **kw):
    kw.setdefault("purpose", Purpose.VIRTUAL_VISIT)
    kw.setdefault("method", "portal")
    kw.setdefault("signer_name", patient.full_name)
    return consent_sign(actor=actor or patient.user, patient=patient, ip_address="192.0.2.10", user_agent="Firefox", **kw)


def pdf_text(path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_signing_records_who_when_how_where_and_the_hash_of_the_text(paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    assert consent.text_sha256 == hashlib.sha256(TEXTS["fr"].encode()).hexdigest()  # Paul reads French
    assert (consent.language, consent.method, consent.ip_address, consent.user_agent) == ("fr", "portal", "192.0.2.10", "Firefox")
    entry = ConsentLedgerEntry.objects.get()
    assert (entry.event, entry.consent, entry.actor, entry.text_sha256) == ("signed", consent, patient_paul, consent.text_sha256)
    assert OutboxItem.objects.filter(topic="consent.signed", patient_id=paul.pk).exists()
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)


def test_withdrawal_flips_the_answer_at_once(paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    before = timezone.now()
    consent_withdraw(actor=patient_paul, consent=consent, reason="I prefer to come in person")
    assert not consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT, at=before)  # history stays answerable
    assert list(ConsentLedgerEntry.objects.order_by("chain_seq").values_list("event", flat=True)) == ["signed", "withdrawn"]
    with pytest.raises(ValidationError):
        consent_withdraw(actor=patient_paul, consent=consent)


def test_queryset_form_agrees_with_the_question(paul, petra, patient_paul, marketing_email_v1):
    _sign(paul, purpose=Purpose.MARKETING_EMAIL)
    consenting = Patient.objects.filter(consent_active_filter(purpose=Purpose.MARKETING_EMAIL))
    assert list(consenting) == [paul]
    assert not consent_is_active(patient=petra, purpose=Purpose.MARKETING_EMAIL)


def test_the_database_refuses_a_second_active_consent_for_the_same_purpose(paul, patient_paul, virtual_visit_v1):
    first = _sign(paul)
    with pytest.raises(ValidationError) as err:
        _sign(paul)
    assert "purpose" in err.value.message_dict
    duplicate = Consent(
        patient=paul,
        purpose=first.purpose,
        version=first.version,
        language="fr",
        method="portal",
        signer_name="Paul Lefèvre",
        text_sha256="0" * 64,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    consent_withdraw(actor=patient_paul, consent=first)
    assert _sign(paul).status == "active"  # after withdrawal, a new consent may be given


def test_receipt_pdf_holds_patient_purpose_text_and_hash(paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    path = private_file_path(consent.receipt_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == consent.receipt_sha256
    text = " ".join(pdf_text(path).split())
    assert "Paul" in text and "MRN-PAUL" in text
    assert "Téléconsultations" in text  # the title in the signer's language
    assert consent.text_sha256[:32] in text.replace(" ", "")
    assert consent_find_by_receipt_hash(sha256=consent.receipt_sha256.upper()) == consent
    assert consent_find_by_receipt_hash(sha256=consent.text_sha256) is None  # a text is not a receipt
    assert consent_version_find_by_text_hash(sha256=consent.text_sha256) == (consent.version, "fr")
    assert consent_find_by_receipt_hash(sha256="f" * 64) is None
    assert consent_find_by_receipt_hash(sha256="not-a-hash") is None


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"signer_name": "   "}, "signer_name"),
        ({"language": "de"}, "language"),
        ({"method": "in_person"}, "witness"),
        ({"method": "paper"}, "scanned_document"),
        ({"method": "paper", "scanned_document": b"MZ\x90\x00 an executable"}, "scanned_document"),
        ({"purpose": Purpose.RESEARCH}, "purpose"),
    ],
)
def test_bad_signatures_name_the_field_and_change_nothing(paul, patient_paul, front_desk_fay, virtual_visit_v1, kw, field):
    # In person and on paper, the front desk records the consent; the patient signs the others.
    actor = front_desk_fay if kw.get("method") in ("in_person", "paper") else patient_paul
    with pytest.raises(ValidationError) as err:
        _sign(paul, actor=actor, **kw)
    assert field in err.value.message_dict
    assert not Consent.objects.exists() and not ConsentLedgerEntry.objects.exists()


@pytest.mark.parametrize("typed", ["Paul Lefèvre", "paul lefevre", "  LEFÈVRE   Paul ", "Lefevre, Paul"])
def test_the_typed_name_is_the_patients_accents_case_and_order_aside(paul, patient_paul, virtual_visit_v1, typed):
    consent = _sign(paul, signer_name=typed)
    assert consent.signer_name == " ".join(typed.split())
    assert (consent.representative_name, consent.representative_capacity) == ("", "")


@pytest.mark.parametrize("typed", ["Someone Else", "Paul", "Lefèvre", "Paul Lefèvre Junior", "Petra Colombo"])
def test_a_name_that_is_not_the_patients_is_refused_on_the_signer_name(paul, patient_paul, virtual_visit_v1, typed):
    with pytest.raises(ValidationError) as err:
        _sign(paul, signer_name=typed)
    assert set(err.value.message_dict) == {"signer_name"}
    assert not Consent.objects.exists() and not ConsentLedgerEntry.objects.exists()


def test_a_named_representative_signs_in_a_capacity(paul, front_desk_fay, virtual_visit_v1):
    consent = _sign(
        paul,
        actor=front_desk_fay,
        method="in_person",
        witness=front_desk_fay,
        signer_name="Marie Lefèvre",
        representative_capacity="guardian",
    )
    assert (consent.signer_name, consent.representative_name, consent.representative_capacity) == (
        "Marie Lefèvre",
        "Marie Lefèvre",
        "guardian",
    )
    text = " ".join(pdf_text(private_file_path(consent.receipt_path)).split())
    with translation.override("fr"):  # the receipt is in the signer's language
        capacity = consent.get_representative_capacity_display()
    assert f"Marie Lefèvre, {capacity}" in text and "Paul Lefèvre" in text


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"signer_name": "Marie Lefèvre", "representative_capacity": "neighbour"}, "representative_capacity"),
        ({"signer_name": "Paul Lefèvre", "representative_capacity": "parent"}, "signer_name"),  # the patient's own name
        ({"signer_name": "  ", "representative_capacity": "parent"}, "signer_name"),
    ],
)
def test_a_representative_is_named_in_a_known_capacity(paul, patient_paul, virtual_visit_v1, kw, field):
    with pytest.raises(ValidationError) as err:
        _sign(paul, **kw)
    assert field in err.value.message_dict
    assert not Consent.objects.exists() and not ConsentLedgerEntry.objects.exists()


def test_the_database_refuses_a_representative_without_a_capacity(paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    with pytest.raises(IntegrityError), transaction.atomic():
        Consent.objects.filter(pk=consent.pk).update(representative_name="Marie Lefèvre")


def test_in_person_consent_with_a_witness(paul, front_desk_fay, virtual_visit_v1):
    consent = _sign(paul, actor=front_desk_fay, method="in_person", witness=front_desk_fay)
    assert consent.recorded_by == front_desk_fay and consent.witness == front_desk_fay


def test_expiry_ends_a_consent_and_is_in_the_ledger(paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul, expires_at=timezone.now() + dt.timedelta(days=30))
    assert consents_expire_due(actor=SystemActor("consent expiry"), now=timezone.now()) == 0
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert not consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert consents_expire_due(actor=SystemActor("consent expiry")) == 1
    consent.refresh_from_db()
    assert consent.status == "expired"
    assert ConsentLedgerEntry.objects.filter(event="expired").count() == 1


def test_the_ledger_is_hash_chained(paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    consent_withdraw(actor=patient_paul, consent=consent)
    assert chain_verify(ConsentLedgerEntry) == []
    ConsentLedgerEntry.objects.filter(event="withdrawn").update(detail="edited")
    [problem] = chain_verify(ConsentLedgerEntry)
    assert problem.pk == ConsentLedgerEntry.objects.get(event="withdrawn").pk


def test_files_of_a_rolled_back_signature_are_swept(paul, patient_paul, virtual_visit_v1, settings):
    import os

    from consent.services import consent_files_sweep

    kept = _sign(paul)
    with pytest.raises(RuntimeError), transaction.atomic():
        consent_withdraw(actor=patient_paul, consent=kept)
        orphan = _sign(paul)
        raise RuntimeError("rolled back")
    orphan_path = private_file_path(orphan.receipt_path)
    assert orphan_path.exists()
    old = orphan_path.stat().st_mtime - 7200
    os.utime(orphan_path, (old, old))
    os.utime(private_file_path(kept.receipt_path), (old, old))
    assert consent_files_sweep(actor=SystemActor("consent files sweep")) >= 1
    assert not orphan_path.exists()
    assert private_file_path(kept.receipt_path).exists()
