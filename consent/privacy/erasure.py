"""Erasure of a patient (GDPR Art. 17) by pseudonymization: the record, its versions, every row
that points to or quotes the patient, and the portal account; the audit trail is kept."""

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from audit.models import ChainedRecord
from notifications.models import Notification, OutboxItem, OutboxKind
from notifications.services import outbox_cancel_for_patient, outbox_event_emit
from patients.models import Patient, PatientContact, PatientIdentifier

from ..files import private_file_delete
from ..models import Consent, ConsentStatus, PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from ..services import consent_withdraw
from .export import _discover, _messages_to
from .requests import _actor_or_none

logger = logging.getLogger(__name__)

# Domain events (ids only in their payloads).
PATIENT_ERASED = "patient.erased"

ERASED_GIVEN_NAME = "Erased"
ERASED_TEXT = "[erased]"


def erasure_pseudonym(patient_pk: int) -> str:
    """A stable label for an erased patient, derived from the id with the secret key: it tells
    erased records apart without pointing back to anyone."""
    return "Patient-" + salted_hmac("salus.privacy.erasure", str(patient_pk)).hexdigest()[:10]


def _words(values: Iterable[str | None]) -> set[str]:
    return {v.strip() for v in values if v and len(v.strip()) >= 3}


def _phone_pattern(phone: str) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    # Matches the number however it was typed: "+33 6 12 34 56 78", "+33612345678", "33-6-12...".
    return r"\+?" + r"[\s().-]*".join(digits) if len(digits) >= 6 else None


@dataclass
class _Identity:
    """What identifies a patient directly, gathered before anything is changed. `distinctive` is
    searched for in rows that are not the patient's own (a staff email quoting an MRN); short or
    common values (a given name alone) only in the patient's own rows."""

    distinctive: set[str]
    common: set[str]
    phones: set[str]

    def pattern(self, *, distinctive_only: bool = False) -> re.Pattern | None:
        words = self.distinctive if distinctive_only else self.distinctive | self.common
        parts = [re.escape(w) for w in sorted(words, key=len, reverse=True)]
        parts += [p for p in (_phone_pattern(x) for x in sorted(self.phones)) if p]
        if not parts:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)

    def search_terms(self) -> set[str]:
        """What to look for with SQL LIKE, which folds the case of ASCII letters only."""
        terms = set()
        for w in self.distinctive | self.phones:
            terms |= {w, w.upper(), w.lower()}
            escaped = json.dumps(w)[1:-1]  # as it appears inside a JSON document
            if escaped != w:
                terms |= {escaped, json.dumps(w.upper())[1:-1]}
        return terms


def _identity_of(patient: Patient) -> _Identity:
    fields = ("given_name", "family_name", "mrn", "email", "phone", "address_line")
    versions = [
        *Patient.history.filter(id=patient.pk).values(*fields),
        {name: getattr(patient, name) for name in fields},
    ]
    distinctive: set[str] = set()
    common: set[str] = set()
    phones: set[str] = set()
    for v in versions:
        common |= _words([v["given_name"], v["family_name"]])
        distinctive |= _words(
            [
                v["mrn"],
                v["email"],
                v["address_line"],
                f"{v['given_name']} {v['family_name']}",
                f"{v['family_name']} {v['given_name']}",
                f"{v['family_name']}, {v['given_name']}",
            ]
        )
        phones |= _words([v["phone"]])
    identifiers = PatientIdentifier.history.filter(patient_id=patient.pk).values_list("value", flat=True)
    distinctive |= _words([*identifiers, *PatientIdentifier.objects.filter(patient=patient).values_list("value", flat=True)])
    for name, email, phone in [
        *PatientContact.history.filter(patient_id=patient.pk).values_list("name", "email", "phone"),
        *PatientContact.objects.filter(patient=patient).values_list("name", "email", "phone"),
    ]:
        distinctive |= _words([name, email])
        phones |= _words([phone])
    signers = Consent.history.filter(patient_id=patient.pk).values_list("signer_name", flat=True)
    distinctive |= _words([*signers, *Consent.objects.filter(patient=patient).values_list("signer_name", flat=True)])
    if patient.user_id:
        user = patient.user
        distinctive |= _words([user.email, user.get_full_name()])
        common |= _words([user.first_name, user.last_name])
    return _Identity(distinctive=distinctive, common=common - distinctive, phones=phones)


def _scrub(value, pattern: re.Pattern):
    if isinstance(value, str):
        return pattern.sub(ERASED_TEXT, value)
    if isinstance(value, list):
        return [_scrub(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, pattern) for k, v in value.items()}
    return value


_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def _scrub_rows(queryset: QuerySet, pattern: re.Pattern | None) -> int:
    """Replace identifying words in every text column of these rows, in place (no new versions:
    this rewrites the past, history rows included)."""
    if pattern is None:
        return 0
    model = queryset.model
    text_fields = [
        f for f in model._meta.concrete_fields if isinstance(f, _TEXT_FIELDS) and not f.primary_key and not f.is_relation
    ]
    if not text_fields:
        return 0
    changes = []
    for row in queryset.values("pk", *[f.attname for f in text_fields]).iterator(chunk_size=1000):
        updates = {}
        for f in text_fields:
            value = row[f.attname]
            scrubbed = _scrub(value, pattern)
            if scrubbed != value:
                updates[f.attname] = scrubbed
        if updates:
            changes.append((row["pk"], updates))
    for pk, updates in changes:
        model._base_manager.filter(pk=pk).update(**updates)
    return len(changes)


def _patient_linked_models() -> list[tuple[type[models.Model], str]]:
    """Every table with a foreign key to Patient (history tables included), except the hash-chained ones."""
    linked = []
    for model in apps.get_models():
        if issubclass(model, ChainedRecord) or model is Patient:
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is Patient:
                linked.append((model, f.attname))
    return linked


def _rows_mentioning(queryset: QuerySet, fields: Iterable[str], terms: set[str]) -> QuerySet:
    q = Q()
    for term in terms:
        for name in fields:
            q |= Q(**{f"{name}__icontains": term})
    return queryset.filter(q) if q else queryset.none()


def _scrub_log_entries(*, patient: Patient, identity: _Identity) -> None:
    """The admin's own log keeps each object's label and what changed (inline rows by their label)."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    full = identity.pattern()
    own = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Patient), object_id=str(patient.pk))
    if patient.user_id:
        own |= LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(get_user_model()), object_id=str(patient.user_id)
        )
    others = _rows_mentioning(LogEntry.objects.all(), ("object_repr", "change_message"), identity.search_terms())
    for entries, pattern in ((own, full), (others, identity.pattern(distinctive_only=True))):
        for entry in entries.iterator():
            try:
                message = json.dumps(_scrub(json.loads(entry.change_message), pattern)) if entry.change_message else ""
            except ValueError:
                message = _scrub(entry.change_message, pattern)
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=_scrub(entry.object_repr, pattern), change_message=message)


def _scrub_messages(*, patient: Patient, identity: _Identity) -> None:
    """Messages to the patient lose their address and identifying words (attachments, such as a
    receipt, go entirely); other rows that quote the patient (a staff email naming the MRN) lose those words."""
    full, distinctive = identity.pattern(), identity.pattern(distinctive_only=True)
    own = _messages_to(patient)
    for item in own.only("pk", "payload"):
        payload = {k: v for k, v in (item.payload or {}).items() if k != "attachments"}
        OutboxItem.objects.filter(pk=item.pk).update(to_address="", payload=_scrub(payload, full) if full else payload)
    _scrub_rows(OutboxItem.objects.filter(patient_id=patient.pk, kind=OutboxKind.EVENT), full)
    terms = identity.search_terms()
    quoting = _rows_mentioning(
        OutboxItem.objects.annotate(payload_text=Cast("payload", models.TextField())), ("payload_text", "to_address"), terms
    )
    addresses = {w.lower() for w in identity.distinctive if "@" in w}
    for item in quoting.only("pk", "payload", "to_address"):
        to_address = "" if item.to_address.lower() in addresses else item.to_address
        OutboxItem.objects.filter(pk=item.pk).update(to_address=to_address, payload=_scrub(item.payload, distinctive))
    if patient.user_id:
        _scrub_rows(Notification.objects.filter(user_id=patient.user_id), full)
    _scrub_rows(Notification.objects.filter(source__in=Subquery(own.values("pk"))), full)
    _scrub_rows(_rows_mentioning(Notification.objects.all(), ("title", "body", "link"), terms), distinctive)


def _close_portal_account(user) -> None:
    """Disable the account and remove what identifies or authenticates it: the email (replaced by
    an unusable unique address), names, password, verified addresses, MFA devices, API tokens, sessions."""
    user.is_active = False
    user.email = f"erased-{user.pk}@erased.invalid"
    user.first_name = user.last_name = ""
    user.set_unusable_password()
    user.save()
    for app, app_label, model_name in (
        ("allauth.account", "account", "EmailAddress"),
        ("allauth.mfa", "mfa", "Authenticator"),
        ("rest_framework.authtoken", "authtoken", "Token"),
    ):
        if apps.is_installed(app):
            apps.get_model(app_label, model_name).objects.filter(user=user).delete()
    if settings.SESSION_ENGINE in ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"):
        from django.contrib.sessions.models import Session

        mine = [s.pk for s in Session.objects.iterator() if s.get_decoded().get("_auth_user_id") == str(user.pk)]
        Session.objects.filter(pk__in=mine).delete()


@transaction.atomic
def privacy_erase(*, actor, request: PrivacyRequest) -> PrivacyRequest:
    """Carry out an approved erasure: pseudonymize the patient everywhere, keep the audit trail.

    - The patient: given name "Erased", family name a pseudonym, MRN "ERASED-<id>", email, phone,
      address, postal code and city cleared, inactive. The birth date becomes 1 January of the
      birth year: age stays known (dosing, age bands, the readmission figures) while a full birth
      date, with a postal code and gender, singles out most people.
    - Every version of the record (django-simple-history) is rewritten the same way; identifiers
      and contact persons are deleted with all their versions.
    - Active consents are withdrawn (the ledger records it); signer names replaced; receipts and
      scans, which print the name, are deleted while their hashes stay in the ledger.
    - Clinical notes and facts are kept, with the patient's names, MRN, email and phone replaced
      by "[erased]" wherever they appear (every table that points to the patient, versions
      included). Art. 17(3)(c) and (b): the medical record must be kept for the legal retention
      period, and care given must stay explainable; once pseudonymized, it no longer identifies.
    - Messages to the patient: pending ones cancelled; every one loses its address, attachments
      and identifying words. Rows elsewhere that quote the patient (a staff email with the MRN, the
      admin's log) are scrubbed too. Export files are deleted.
    - The portal account is disabled and stripped (see `_close_portal_account`).
    - The access log and the consent ledger keep their rows unchanged: they hold ids, hashes and
      staff labels, and their hash chains must still verify.

    Files are deleted last, inside the transaction: if the commit then failed, the request would
    stay approved and run again, rather than be marked done with files left behind.
    """
    request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == PrivacyRequestStatus.DONE:
        return request
    if request.kind != PrivacyRequestKind.ERASURE or request.status != PrivacyRequestStatus.APPROVED:
        raise ValidationError({"status": _("Only an approved erasure request can be carried out.")})
    patient = Patient.objects.select_for_update(of=("self",)).select_related("user").get(pk=request.patient_id)
    identity = _identity_of(patient)
    files: list[str] = []

    for consent in Consent.objects.filter(patient=patient, status=ConsentStatus.ACTIVE):
        consent_withdraw(actor=actor, consent=consent, reason=f"Erasure request #{request.pk}")
    outbox_cancel_for_patient(patient_id=patient.pk)

    for model in (PatientIdentifier, PatientContact):
        for row in model.objects.filter(patient=patient):
            row._history_user = _actor_or_none(actor)
            row.delete()
        model.history.filter(patient_id=patient.pk).delete()

    pseudonym = erasure_pseudonym(patient.pk)
    erased = {
        "given_name": ERASED_GIVEN_NAME,
        "family_name": pseudonym,
        "mrn": f"ERASED-{patient.pk}",
        "email": "",
        "phone": "",
        "address_line": "",
        "postal_code": "",
        "city": "",
        "birth_date": dt.date(patient.birth_date.year, 1, 1),
    }
    for name, value in {**erased, "active": False}.items():
        setattr(patient, name, value)
    patient._history_user = _actor_or_none(actor)
    patient._change_reason = f"Erasure request #{request.pk}"
    patient.save()
    Patient.history.filter(id=patient.pk).update(**erased)

    consents = Consent.objects.filter(patient=patient)
    consent_versions = Consent.history.filter(patient_id=patient.pk)
    for qs in (consents, consent_versions):
        for receipt, scan in qs.values_list("receipt_path", "scanned_document"):
            files += [p for p in (receipt, scan) if p]
        qs.update(
            signer_name=f"{ERASED_GIVEN_NAME} {pseudonym}", receipt_path="", scanned_document="", ip_address=None, user_agent=""
        )

    exports = PrivacyRequest.objects.filter(patient=patient, kind=PrivacyRequestKind.EXPORT)
    for json_path, pdf_path in exports.values_list("json_path", "pdf_path"):
        files += [p for p in (json_path, pdf_path) if p]
    exports.update(json_path="", pdf_path="", download_token=None)
    exports.filter(status__in=[PrivacyRequestStatus.REQUESTED, PrivacyRequestStatus.PROCESSING]).update(
        status=PrivacyRequestStatus.FAILED, error="The record was erased.", completed_at=timezone.now()
    )

    for hook in _discover():
        hook(patient=patient, actor=actor)

    full = identity.pattern()
    for model, attname in _patient_linked_models():
        _scrub_rows(model._base_manager.filter(**{attname: patient.pk}), full)
    _scrub_rows(Patient.history.filter(id=patient.pk), full)
    _scrub_messages(patient=patient, identity=identity)
    _scrub_log_entries(patient=patient, identity=identity)
    if patient.user_id:
        _close_portal_account(patient.user)

    request.status = PrivacyRequestStatus.DONE
    request.completed_at = timezone.now()
    request.error = ""
    request.save(update_fields=["status", "completed_at", "error"])
    outbox_event_emit(topic=PATIENT_ERASED, patient_id=patient.pk, payload={"patient_id": patient.pk, "request_id": request.pk})
    for path in files:
        private_file_delete(path)
    return request


def privacy_erase_run(*, request_id: int) -> bool:
    """The task's entry: erase for an approved request, as the administrator who approved it.
    Idempotent (a done request is left alone); a failure is recorded on the request."""
    request = PrivacyRequest.objects.select_related("decided_by").filter(pk=request_id).first()
    if request is None or request.kind != PrivacyRequestKind.ERASURE or request.status != PrivacyRequestStatus.APPROVED:
        return False
    try:
        privacy_erase(actor=request.decided_by, request=request)
    except Exception as exc:  # noqa: BLE001 - recorded on the request; an administrator may run it again
        PrivacyRequest.objects.filter(pk=request_id, status=PrivacyRequestStatus.APPROVED).update(
            status=PrivacyRequestStatus.FAILED, error=type(exc).__name__[:500], completed_at=timezone.now()
        )
        logger.warning("Erasure %s failed: %s", request_id, type(exc).__name__)
        return False
    return True
