"""Privacy rights of patients (GDPR Art. 15, 17 and 20): requests, data exports and erasure.

Writes are services named `privacy_*`; each runs in one transaction and names its actor. The
portal, the admin, the API and the tasks call them. The permission-aware reads they need are at
the end of the module (`privacy_requests_for_user`, `privacy_export_get_for_download`, ...).

Other apps add to an export, and to an erasure, without consent importing them (nor them
importing consent): an app may hold a module `privacy_export.py` with

    EXPORT_SECTIONS = [{"key": "appointments", "title": _("Appointments"),
                        "build": lambda patient: [...], "columns": [("start", _("Start")), ...]}]
    def erase_patient(*, patient, actor): ...   # optional: what the generic scrub cannot do

which is discovered once, like the admin's `admin.py` modules.
"""

import datetime as dt
import importlib
import importlib.util
import json
import logging
import re
import secrets
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import ChainedRecord
from notifications.models import Notification, OutboxChannel, OutboxItem, OutboxKind
from notifications.services import outbox_cancel_for_patient, outbox_event_emit, outbox_message_enqueue, staff_notify
from patients.models import (
    AccessChannel,
    AccessLog,
    AllergyIntolerance,
    CareTeamRole,
    Condition,
    Encounter,
    Immunization,
    MedicationRequest,
    Observation,
    Patient,
    PatientContact,
    PatientIdentifier,
    Procedure,
)
from patients.permissions import user_may_open_patients
from patients.selectors import CLINICAL_MODELS, care_team_for_patient, notes_for_patient, patients_for_user
from patients.services import access_log_record

from .files import private_file_delete, private_file_path, private_file_write
from .models import (
    Consent,
    ConsentLedgerEntry,
    ConsentMethod,
    ConsentStatus,
    LedgerEvent,
    PrivacyRequest,
    PrivacyRequestChannel,
    PrivacyRequestKind,
    PrivacyRequestStatus,
    Purpose,
)
from .services import consent_withdraw

logger = logging.getLogger(__name__)

# Domain events (ids only in their payloads).
PRIVACY_REQUEST_CREATED = "privacy.request.created"
PRIVACY_REQUEST_DECIDED = "privacy.request.decided"
PRIVACY_EXPORT_READY = "privacy.export.ready"
PATIENT_ERASED = "patient.erased"

EXPORT_FORMAT = "salus.patient-export"
EXPORT_FORMAT_VERSION = 1
# The PDF is a readable summary; past this many rows a section points to the JSON file.
PDF_ROWS_PER_SECTION = 500
ERASED_GIVEN_NAME = "Erased"
ERASED_TEXT = "[erased]"
REASON_MAX = 2000


def export_link_hours() -> int:
    """How long a ready export can be downloaded (SALUS_EXPORT_LINK_HOURS, default 72)."""
    return int(getattr(settings, "SALUS_EXPORT_LINK_HOURS", 72))


def _claim_seconds() -> int:
    """After this long, a build left `processing` by a crashed worker may be taken over."""
    return int(getattr(settings, "SALUS_PRIVACY_CLAIM_SECONDS", 900))


def _actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def _publish_on_commit(task_name: str, request_id: int) -> None:
    """Hand the request to a worker once the transaction commits. The row is the durable record:
    if the broker is down it stays open and `privacy_requests_dispatch` publishes it later."""

    def publish() -> None:
        from . import tasks

        task = getattr(tasks, task_name)
        try:
            with task.app.connection_for_write(transport_options={"max_retries": 0}) as conn:
                task.apply_async(args=[request_id], retry=False, connection=conn)
        except Exception as exc:  # noqa: BLE001 - a broker failure only delays the work
            logger.warning("Broker unavailable, privacy request %s left for the dispatcher: %s", request_id, type(exc).__name__)

    transaction.on_commit(publish)


def _portal_link() -> str:
    return f"{getattr(settings, 'SALUS_SITE_URL', '').rstrip('/')}{reverse('privacy:home')}"


def _tell_patient(*, request: PrivacyRequest, topic: str, subject: Callable[[], str], text: Callable[[], str]) -> None:
    """Email the patient that something happened, in their language. The body says where to look
    (the portal), never what their data holds."""
    patient = request.patient
    user = patient.user if patient.user_id and patient.user.is_active else None
    address = (user.email if user else "") or patient.email
    if not address:
        return
    with translation.override(patient.preferred_language):
        outbox_message_enqueue(
            channel=OutboxChannel.EMAIL,
            topic=topic,
            to_address=address,
            recipient_user=user,
            patient_id=patient.pk,
            subject=subject(),
            text=text(),
            link=_portal_link(),
            dedupe_key=f"{topic}:{request.pk}:{request.status}",
        )


# --- requests -----------------------------------------------------------------------------------


def _actor_may_ask_for(actor, patient: Patient) -> bool:
    if actor is None:  # the system itself (an import, a task)
        return True
    if not actor.is_active:
        return False
    if patient.user_id is not None and patient.user_id == actor.pk:
        return True
    return actor.is_staff and patients_for_user(user=actor).filter(pk=patient.pk).exists()


@transaction.atomic
def privacy_request_create(*, actor, patient: Patient, kind: str, channel: str, reason: str = "") -> PrivacyRequest:
    """Record a patient's request. An export is built at once by a task; an erasure waits for an
    administrator's decision (and the administrators are told). One open request per kind."""
    errors = {}
    if kind not in PrivacyRequestKind.values:
        errors["kind"] = _("Choose a copy of your data or erasure.")
    if channel not in PrivacyRequestChannel.values:
        errors["channel"] = _("Unknown channel.")
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        errors["reason"] = _("Keep the reason under %(n)s characters.") % {"n": REASON_MAX}
    if errors:
        raise ValidationError(errors)
    if not _actor_may_ask_for(actor, patient):
        raise PermissionDenied
    if PrivacyRequest.objects.filter(patient=patient, kind=PrivacyRequestKind.ERASURE, status=PrivacyRequestStatus.DONE).exists():
        raise ValidationError({"kind": _("This record has been erased; there is nothing left to ask for.")})
    request = PrivacyRequest(
        patient=patient,
        kind=kind,
        channel=channel,
        reason=reason,
        requested_by=_actor_or_none(actor),
        requested_at=timezone.now(),
        download_token=secrets.token_urlsafe(32) if kind == PrivacyRequestKind.EXPORT else None,
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:  # the database's one-open-request-per-kind constraint
        raise ValidationError(
            {"kind": _("A request of this kind is already open; you will be told when it is answered.")}
        ) from None
    outbox_event_emit(
        topic=PRIVACY_REQUEST_CREATED,
        patient_id=patient.pk,
        payload={"patient_id": patient.pk, "request_id": request.pk, "kind": kind},
    )
    if kind == PrivacyRequestKind.EXPORT:
        _publish_on_commit("privacy_export_build", request.pk)
    else:
        for admin in get_user_model().objects.filter(is_superuser=True, is_active=True):
            with translation.override(admin.preferred_language):
                staff_notify(
                    user=admin,
                    title=_("Erasure request to decide"),
                    body=_("Erasure request #%(id)s waits for an administrator's decision.") % {"id": request.pk},
                    link=reverse("admin:consent_privacyrequest_change", args=[request.pk]),
                    dedupe_key=f"privacy-erasure-requested:{request.pk}:{admin.pk}",
                )
    return request


def privacy_export_request(*, actor, patient: Patient, channel: str, reason: str = "") -> PrivacyRequest:
    """Art. 15/20: ask for a copy of everything held on the patient (JSON and PDF)."""
    return privacy_request_create(actor=actor, patient=patient, kind=PrivacyRequestKind.EXPORT, channel=channel, reason=reason)


def privacy_erasure_request(*, actor, patient: Patient, channel: str, reason: str = "") -> PrivacyRequest:
    """Art. 17: ask for erasure. Nothing is erased before an administrator approves."""
    return privacy_request_create(actor=actor, patient=patient, kind=PrivacyRequestKind.ERASURE, channel=channel, reason=reason)


def _require_administrator(actor) -> None:
    if actor is None or not (actor.is_active and actor.is_superuser):
        raise PermissionDenied


@transaction.atomic
def privacy_request_decide(*, actor, request: PrivacyRequest, approve: bool, note: str = "") -> PrivacyRequest:
    """An administrator approves or rejects an erasure request. A rejection needs a note, which
    the patient reads in the portal. Approval hands the erasure to a task."""
    _require_administrator(actor)
    request = PrivacyRequest.objects.select_for_update(of=("self",)).select_related("patient", "patient__user").get(pk=request.pk)
    note = (note or "").strip()
    errors = {}
    if request.kind != PrivacyRequestKind.ERASURE:
        errors["kind"] = _("Only erasure requests wait for a decision.")
    elif request.status != PrivacyRequestStatus.REQUESTED:
        errors["status"] = _("This request has already been decided.")
    if not approve and not note:
        errors["decision_note"] = _("Say why the request is rejected: the patient reads this note.")
    elif len(note) > REASON_MAX:
        errors["decision_note"] = _("Keep the note under %(n)s characters.") % {"n": REASON_MAX}
    if errors:
        raise ValidationError(errors)
    request.status = PrivacyRequestStatus.APPROVED if approve else PrivacyRequestStatus.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note
    if not approve:
        request.completed_at = request.decided_at
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "completed_at"])
    outbox_event_emit(
        topic=PRIVACY_REQUEST_DECIDED,
        patient_id=request.patient_id,
        payload={"patient_id": request.patient_id, "request_id": request.pk, "approved": approve},
    )
    if approve:
        _publish_on_commit("privacy_erase_run", request.pk)
    else:
        _tell_patient(
            request=request,
            topic="privacy.request.answered",
            subject=lambda: _("Your request has been answered"),
            text=lambda: (
                _(
                    "Hello,\n\nWe have answered your request about your personal data. Sign in to the patient portal to read "
                    "the answer:\n%(link)s\n\nFor your privacy, this email holds no personal information."
                )
                % {"link": _portal_link()}
            ),
        )
    return request


@transaction.atomic
def privacy_request_retry(*, actor, request: PrivacyRequest) -> PrivacyRequest:
    """Run a failed export or erasure again (an administrator, after fixing what made it fail)."""
    _require_administrator(actor)
    request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != PrivacyRequestStatus.FAILED:
        raise ValidationError({"status": _("Only a failed request can be run again.")})
    is_export = request.kind == PrivacyRequestKind.EXPORT
    request.status = PrivacyRequestStatus.REQUESTED if is_export else PrivacyRequestStatus.APPROVED
    request.error = ""
    request.started_at = None
    request.completed_at = None
    try:
        with transaction.atomic():
            request.save(update_fields=["status", "error", "started_at", "completed_at"])
    except IntegrityError:
        raise ValidationError({"kind": _("Another request of this kind is open for this patient.")}) from None
    _publish_on_commit("privacy_export_build" if is_export else "privacy_erase_run", request.pk)
    return request


def privacy_open_request_ids(*, stale_before: dt.datetime | None = None) -> list[tuple[str, int]]:
    """(task name, request id) of the work a worker should be doing: exports asked for, erasures
    approved, and builds left `processing` by a worker that died."""
    stale_before = stale_before or timezone.now() - dt.timedelta(seconds=_claim_seconds())
    exports = PrivacyRequest.objects.filter(kind=PrivacyRequestKind.EXPORT).filter(
        Q(status=PrivacyRequestStatus.REQUESTED) | Q(status=PrivacyRequestStatus.PROCESSING, started_at__lt=stale_before)
    )
    erasures = PrivacyRequest.objects.filter(kind=PrivacyRequestKind.ERASURE, status=PrivacyRequestStatus.APPROVED)
    return [("privacy_export_build", pk) for pk in exports.values_list("pk", flat=True)] + [
        ("privacy_erase_run", pk) for pk in erasures.values_list("pk", flat=True)
    ]


# --- the export: a registry of sections ----------------------------------------------------------


@dataclass(frozen=True)
class ExportSection:
    """One part of a patient's export. `build(patient)` returns a list of rows (dicts) or one dict;
    `columns` are the (key, label[, choices]) the PDF shows (the JSON holds every key)."""

    key: str
    title: Any
    build: Callable[[Patient], list[dict] | dict]
    columns: tuple = field(default=())


_SECTIONS: dict[str, ExportSection] = {}


def export_section_register(section: ExportSection) -> None:
    """Add a section to every export built from now on (a later section with the same key replaces it)."""
    _SECTIONS[section.key] = section


def _app_privacy_modules() -> list:
    modules = []
    for app_config in apps.get_app_configs():
        name = f"{app_config.name}.privacy_export"
        if app_config.name != __package__ and importlib.util.find_spec(name) is not None:
            modules.append(importlib.import_module(name))
    return modules


@lru_cache(maxsize=1)
def _discover() -> tuple:
    """Sections and erasure hooks of the other apps (their `privacy_export` modules), found once."""
    hooks = []
    for module in _app_privacy_modules():
        for spec in getattr(module, "EXPORT_SECTIONS", ()):
            export_section_register(
                ExportSection(key=spec["key"], title=spec["title"], build=spec["build"], columns=tuple(spec.get("columns", ())))
            )
        if callable(getattr(module, "erase_patient", None)):
            hooks.append(module.erase_patient)
    return tuple(hooks)


def export_sections() -> list[ExportSection]:
    _discover()
    return list(_SECTIONS.values())


def _row(obj, *, exclude: Iterable[str] = ("patient",)) -> dict:
    """Every stored field of a row, foreign keys as ids."""
    return {
        (f.attname if f.is_relation else f.name): getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.name not in exclude
    }


def _model_columns(model, names: Iterable[str]) -> tuple:
    out = []
    for name in names:
        model_field = model._meta.get_field(name)
        choices = dict(model_field.flatchoices) if model_field.choices else None
        out.append((name, model_field.verbose_name, choices))
    return tuple(out)


def _user_label(user) -> str:
    return (user.get_full_name() or user.email) if user is not None else ""


def _section_patient(patient: Patient) -> dict:
    data = _row(patient, exclude=("user",))
    data["portal_account"] = patient.user.email if patient.user_id else ""
    return data


def _section_identifiers(patient: Patient) -> list[dict]:
    return [_row(i) for i in PatientIdentifier.objects.filter(patient=patient).order_by("id")]


def _section_contacts(patient: Patient) -> list[dict]:
    return [_row(c) for c in PatientContact.objects.filter(patient=patient).order_by("id")]


def _section_care_team(patient: Patient) -> list[dict]:
    return [
        {"member": _user_label(m.user), "role": m.role, "period_start": m.period_start, "period_end": m.period_end}
        for m in care_team_for_patient(patient=patient, include_past=True)
    ]


def _section_notes(patient: Patient) -> list[dict]:
    return [
        {
            "id": n.pk,
            "created_at": n.created_at,
            "author": _user_label(n.author),
            "text": n.text,
            "encounter_id": n.encounter_id,
            "reviewed_by": _user_label(n.reviewed_by),
            "reviewed_at": n.reviewed_at,
        }
        for n in notes_for_patient(patient=patient).order_by("created_at", "id")
    ]


def _facts(model) -> Callable[[Patient], list[dict]]:
    def build(patient: Patient) -> list[dict]:
        return [_row(fact) for fact in model.objects.filter(patient=patient).order_by("id").iterator(chunk_size=2000)]

    return build


def _section_consents(patient: Patient) -> list[dict]:
    return [
        {
            "id": c.pk,
            "purpose": c.purpose,
            "status": c.status,
            "version": c.version.version,
            "language": c.language,
            "method": c.method,
            "signer_name": c.signer_name,
            "signed_at": c.signed_at,
            "ip_address": c.ip_address,
            "text_sha256": c.text_sha256,
            "receipt_sha256": c.receipt_sha256,
            "expires_at": c.expires_at,
            "withdrawn_at": c.withdrawn_at,
            "withdrawal_reason": c.withdrawal_reason,
        }
        for c in Consent.objects.filter(patient=patient).select_related("version").order_by("signed_at", "id")
    ]


def _section_ledger(patient: Patient) -> list[dict]:
    fields = ("chain_seq", "at", "consent_id", "purpose", "event", "actor_label", "text_sha256", "receipt_sha256", "detail")
    return list(ConsentLedgerEntry.objects.filter(patient=patient).order_by("chain_seq").values(*fields))


def _section_access_log(patient: Patient) -> list[dict]:
    # Who read the record, when, what and how. Staff IP addresses and browsers are theirs, not the patient's.
    fields = ("created_at", "actor_label", "action", "resource", "channel")
    return list(AccessLog.objects.filter(patient=patient).order_by("created_at", "id").values(*fields).iterator(chunk_size=2000))


def _messages_to(patient: Patient) -> QuerySet[OutboxItem]:
    q = Q(patient_id=patient.pk)
    if patient.user_id:
        q |= Q(recipient_user_id=patient.user_id)
    return OutboxItem.objects.filter(q, kind=OutboxKind.MESSAGE)


def _section_messages(patient: Patient) -> list[dict]:
    return [
        {
            "created_at": m.created_at,
            "channel": m.channel,
            "topic": m.topic,
            "to_address": m.to_address,
            "subject": m.payload.get("subject", ""),
            "text": m.payload.get("text", ""),
            "status": m.status,
            "sent_at": m.done_at,
        }
        for m in _messages_to(patient).order_by("created_at", "id")
    ]


def _section_notifications(patient: Patient) -> list[dict]:
    if not patient.user_id:
        return []
    return list(
        Notification.objects.filter(user_id=patient.user_id)
        .order_by("created_at", "id")
        .values("created_at", "title", "body", "read_at")
    )


def _section_privacy_requests(patient: Patient) -> list[dict]:
    fields = (
        "id",
        "kind",
        "status",
        "channel",
        "requested_at",
        "reason",
        "decided_at",
        "decision_note",
        "ready_at",
        "expires_at",
    )
    return list(PrivacyRequest.objects.filter(patient=patient).order_by("requested_at", "id").values(*fields))


def _register_builtin_sections() -> None:
    sections = [
        ExportSection("patient", gettext_lazy("Your record"), _section_patient),
        ExportSection(
            "identifiers",
            gettext_lazy("Identifiers"),
            _section_identifiers,
            _model_columns(PatientIdentifier, ("system", "value", "use")),
        ),
        ExportSection(
            "contacts",
            gettext_lazy("Contact persons"),
            _section_contacts,
            _model_columns(PatientContact, ("name", "relationship", "phone", "email")),
        ),
        ExportSection(
            "care_team",
            gettext_lazy("Care team"),
            _section_care_team,
            (
                ("member", gettext_lazy("Member")),
                ("role", gettext_lazy("Role"), dict(CareTeamRole.choices)),
                ("period_start", gettext_lazy("From")),
                ("period_end", gettext_lazy("Until")),
            ),
        ),
        ExportSection(
            "clinical_notes",
            gettext_lazy("Clinical notes"),
            _section_notes,
            (("created_at", gettext_lazy("Written")), ("author", gettext_lazy("Author")), ("text", gettext_lazy("Text"))),
        ),
    ]
    fact_columns = {
        Encounter: ("period_start", "period_end", "encounter_class", "type_display", "reason_display", "location"),
        Condition: ("display", "code", "clinical_status", "onset", "abatement"),
        Observation: ("effective_at", "display", "value_quantity", "value_unit", "value_text"),
        MedicationRequest: ("authored_on", "display", "status", "dosage_text"),
        AllergyIntolerance: ("display", "clinical_status", "criticality", "recorded_date"),
        Procedure: ("performed_start", "display", "status"),
        Immunization: ("occurrence", "display", "status"),
    }
    # Every clinical fact the record holds, under the names the REST API uses for them.
    for kind, model in CLINICAL_MODELS.items():
        sections.append(
            ExportSection(
                kind.replace("-", "_"),
                model._meta.verbose_name_plural,
                _facts(model),
                _model_columns(model, fact_columns[model]),
            )
        )
    sections += [
        ExportSection(
            "consents",
            gettext_lazy("Consents"),
            _section_consents,
            (
                ("purpose", gettext_lazy("Purpose"), dict(Purpose.choices)),
                ("status", gettext_lazy("Status"), dict(ConsentStatus.choices)),
                ("method", gettext_lazy("How it was given"), dict(ConsentMethod.choices)),
                ("signer_name", gettext_lazy("Signed by")),
                ("signed_at", gettext_lazy("Signed at")),
                ("withdrawn_at", gettext_lazy("Withdrawn at")),
            ),
        ),
        ExportSection(
            "consent_ledger",
            gettext_lazy("Consent ledger"),
            _section_ledger,
            (
                ("at", gettext_lazy("When")),
                ("purpose", gettext_lazy("Purpose"), dict(Purpose.choices)),
                ("event", gettext_lazy("Event"), dict(LedgerEvent.choices)),
                ("actor_label", gettext_lazy("By")),
            ),
        ),
        ExportSection(
            "access_log",
            gettext_lazy("Who read your record"),
            _section_access_log,
            (
                ("created_at", gettext_lazy("When")),
                ("actor_label", gettext_lazy("Who")),
                ("resource", gettext_lazy("What")),
                ("channel", gettext_lazy("How"), dict(AccessChannel.choices)),
            ),
        ),
        ExportSection(
            "messages",
            gettext_lazy("Messages sent to you"),
            _section_messages,
            (
                ("created_at", gettext_lazy("When")),
                ("channel", gettext_lazy("Channel"), dict(OutboxChannel.choices)),
                ("to_address", gettext_lazy("To")),
                ("subject", gettext_lazy("Subject")),
            ),
        ),
        ExportSection(
            "notifications",
            gettext_lazy("Notifications"),
            _section_notifications,
            (("created_at", gettext_lazy("When")), ("title", gettext_lazy("Title"))),
        ),
        ExportSection(
            "privacy_requests",
            gettext_lazy("Your privacy requests"),
            _section_privacy_requests,
            (
                ("requested_at", gettext_lazy("Asked at")),
                ("kind", gettext_lazy("Request"), dict(PrivacyRequestKind.choices)),
                ("status", gettext_lazy("Status"), dict(PrivacyRequestStatus.choices)),
            ),
        ),
    ]
    for section in sections:
        export_section_register(section)


_register_builtin_sections()


def export_collect(*, patient: Patient) -> list[tuple[ExportSection, list[dict] | dict]]:
    """Everything held on one patient, section by section."""
    return [(section, section.build(patient)) for section in export_sections()]


def export_json(*, patient: Patient, collected, generated_at: dt.datetime) -> bytes:
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_FORMAT_VERSION,
        "generated_at": generated_at,
        "patient_id": patient.pk,
        "sections": {section.key: data for section, data in collected},
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


def _display(value, *, tz, choices=None) -> str:
    if value is None or value == "":
        return "—"
    if choices and not isinstance(value, list | dict):
        return str(choices.get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value, tz), "DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return formats.date_format(value, "DATE_FORMAT")
    if isinstance(value, Decimal):
        return formats.number_format(value.normalize())
    if isinstance(value, list | dict):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return str(value)


def export_pdf(*, patient: Patient, collected, generated_at: dt.datetime) -> bytes:
    """The readable summary, in the patient's language and time zone (WeasyPrint)."""
    from weasyprint import HTML

    tz = zoneinfo.ZoneInfo(patient.time_zone)
    with translation.override(patient.preferred_language):
        blocks = []
        for section, data in collected:
            if isinstance(data, dict):
                labels = {f.name: f.verbose_name for f in Patient._meta.concrete_fields}
                labels["portal_account"] = gettext_lazy("portal account")
                facts = [
                    (capfirst(str(labels.get(k, k.replace("_", " ")))), _display(v, tz=tz))
                    for k, v in data.items()
                    if k not in ("id",)
                ]
                blocks.append({"title": section.title, "facts": facts})
                continue
            columns = section.columns or tuple((k, k.replace("_", " ")) for k in (data[0].keys() if data else ()))
            rows = [
                [_display(row.get(col[0]), tz=tz, choices=col[2] if len(col) > 2 else None) for col in columns]
                for row in data[:PDF_ROWS_PER_SECTION]
            ]
            blocks.append(
                {
                    "title": section.title,
                    "headers": [capfirst(str(col[1])) for col in columns],
                    "rows": rows,
                    "total": len(data),
                    "truncated": len(data) > PDF_ROWS_PER_SECTION,
                }
            )
        html = render_to_string(
            "consent/privacy/export_pdf.html",
            {
                "patient": patient,
                "blocks": blocks,
                "generated_at": _display(generated_at, tz=tz),
                "language": patient.preferred_language,
                "shown": PDF_ROWS_PER_SECTION,
            },
        )
    return HTML(string=html).write_pdf()


def privacy_export_build(*, request_id: int) -> bool:
    """Build an export: the JSON of everything held on the patient and its PDF summary, stored
    privately; mark it ready with a download link that expires; tell the patient; log the read.

    Idempotent: the request is claimed with a compare-and-set UPDATE (`requested` → `processing`),
    so a second run, or a run published twice, builds nothing. Returns whether this call built it.
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=_claim_seconds())
    claimed = (
        PrivacyRequest.objects.filter(pk=request_id, kind=PrivacyRequestKind.EXPORT)
        .filter(Q(status=PrivacyRequestStatus.REQUESTED) | Q(status=PrivacyRequestStatus.PROCESSING, started_at__lt=stale))
        .update(status=PrivacyRequestStatus.PROCESSING, started_at=now)
    )
    if not claimed:
        return False
    written: list[str] = []
    try:
        with transaction.atomic():
            request = PrivacyRequest.objects.select_for_update().get(pk=request_id)
            if request.status != PrivacyRequestStatus.PROCESSING or request.started_at != now:
                return False  # another worker took it over meanwhile
            # The patient row stays locked while the files are written: an erasure waits for the export.
            patient = Patient.objects.select_for_update(of=("self",)).select_related("user").get(pk=request.patient_id)
            request.patient = patient
            generated_at = timezone.now()
            collected = export_collect(patient=patient)
            content = export_json(patient=patient, collected=collected, generated_at=generated_at)
            request.json_path = private_file_write(folder="privacy-exports", suffix=".json", content=content)
            written.append(request.json_path)
            pdf = export_pdf(patient=patient, collected=collected, generated_at=generated_at)
            request.pdf_path = private_file_write(folder="privacy-exports", suffix=".pdf", content=pdf)
            written.append(request.pdf_path)
            request.status = PrivacyRequestStatus.DONE
            request.ready_at = request.completed_at = timezone.now()
            request.expires_at = request.ready_at + dt.timedelta(hours=export_link_hours())
            request.error = ""
            request.save()
            access_log_record(actor=None, patient=patient, resource="export", channel=AccessChannel.TASK, action="export")
            expires = request.expires_at

            def text() -> str:
                when = formats.date_format(timezone.localtime(expires, zoneinfo.ZoneInfo(patient.time_zone)), "DATETIME_FORMAT")
                return _(
                    "Hello,\n\nThe copy of your data you asked for is ready. Sign in to the patient portal to download it "
                    "before %(when)s:\n%(link)s\n\nFor your privacy, this email holds no personal information."
                ) % {"when": when, "link": _portal_link()}

            _tell_patient(
                request=request, topic=PRIVACY_EXPORT_READY, subject=lambda: _("Your copy of your data is ready"), text=text
            )
            outbox_event_emit(
                topic=PRIVACY_EXPORT_READY,
                patient_id=patient.pk,
                payload={"patient_id": patient.pk, "request_id": request.pk},
            )
    except Exception as exc:  # noqa: BLE001 - recorded on the request; an administrator may run it again
        for path in written:
            private_file_delete(path)
        PrivacyRequest.objects.filter(pk=request_id, status=PrivacyRequestStatus.PROCESSING).update(
            status=PrivacyRequestStatus.FAILED, error=type(exc).__name__[:500], completed_at=timezone.now()
        )
        # The class name only: an exception's message may quote patient data.
        logger.warning("Export %s failed: %s", request_id, type(exc).__name__)
        return False
    return True


@transaction.atomic
def privacy_export_files_purge(*, request_ids: Iterable[int]) -> int:
    """Delete the files of these exports (retention, erasure); the request rows stay as the record."""
    done = 0
    for request in PrivacyRequest.objects.select_for_update().filter(pk__in=list(request_ids), kind=PrivacyRequestKind.EXPORT):
        if not (request.json_path or request.pdf_path):
            continue
        for path in (request.json_path, request.pdf_path):
            private_file_delete(path)
        PrivacyRequest.objects.filter(pk=request.pk).update(json_path="", pdf_path="", download_token=None)
        done += 1
    return done


# --- erasure -----------------------------------------------------------------------------------


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


# --- reads (permission-aware) --------------------------------------------------------------------


def privacy_requests_for_patient(*, patient: Patient) -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.filter(patient=patient)


def privacy_requests_for_user(*, user) -> QuerySet[PrivacyRequest]:
    """The requests a staff member may see: administrators all, others those of patients they see."""
    if not user.is_authenticated or not user.is_active or not user.is_staff:
        return PrivacyRequest.objects.none()
    if user.is_superuser:
        return PrivacyRequest.objects.all()
    if not user_may_open_patients(user):
        return PrivacyRequest.objects.none()
    return PrivacyRequest.objects.filter(patient__in=Subquery(patients_for_user(user=user).values("pk")))


def privacy_request_get_for_user(*, user, pk) -> PrivacyRequest:
    try:
        return privacy_requests_for_user(user=user).select_related("patient").get(pk=pk)
    except (PrivacyRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("No such request.") from None


def privacy_export_get_for_download(*, user, token: str) -> PrivacyRequest:
    """The export behind a download token, if `user` is its patient or an administrator; else 404.
    Whether the link has expired is the caller's next question (410, not 404)."""
    request = (
        PrivacyRequest.objects.select_related("patient").filter(download_token=token, kind=PrivacyRequestKind.EXPORT).first()
        if token
        else None
    )
    allowed = (
        request is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or (request.patient.user_id is not None and request.patient.user_id == user.pk))
    )
    if not allowed or request.status != PrivacyRequestStatus.DONE:
        raise Http404("No such export.")
    return request


def privacy_export_file(*, request: PrivacyRequest, fmt: str, now: dt.datetime | None = None):
    """(absolute path, download name, content type) of an export's file, or None once the link has
    expired or the files are gone."""
    relative = {"json": request.json_path, "pdf": request.pdf_path}.get(fmt)
    if relative is None:
        raise Http404("No such format.")
    if request.link_expired(now) or not relative:
        return None
    path = private_file_path(relative)
    if not path.exists():
        return None
    stamp = timezone.localtime(request.ready_at).strftime("%Y-%m-%d")
    content_type = "application/json" if fmt == "json" else "application/pdf"
    return path, f"salus-data-{stamp}.{fmt}", content_type
