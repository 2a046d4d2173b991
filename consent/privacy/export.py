"""The export of a patient's data (GDPR Art. 15 and 20): a registry of sections, the sections other
apps add in their `privacy_export` modules, and the JSON file and PDF summary built from them."""

import datetime as dt
import importlib
import importlib.util
import json
import logging
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications.models import Notification, OutboxChannel, OutboxItem, OutboxKind
from notifications.services import outbox_event_emit
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
from patients.selectors import CLINICAL_MODELS, care_team_for_patient, notes_for_patient
from patients.services import access_log_record

from ..files import private_file_delete, private_file_write
from ..models import (
    Consent,
    ConsentLedgerEntry,
    ConsentMethod,
    ConsentStatus,
    LedgerEvent,
    PrivacyRequest,
    PrivacyRequestKind,
    PrivacyRequestStatus,
    Purpose,
)
from .requests import _claim_seconds, _portal_link, _tell_patient

logger = logging.getLogger(__name__)

# Domain events (ids only in their payloads).
PRIVACY_EXPORT_READY = "privacy.export.ready"

EXPORT_FORMAT = "salus.patient-export"
EXPORT_FORMAT_VERSION = 1
# The PDF is a readable summary; past this many rows a section points to the JSON file.
PDF_ROWS_PER_SECTION = 500


def export_link_hours() -> int:
    """How long a ready export can be downloaded (SALUS_EXPORT_LINK_HOURS, default 72)."""
    return int(getattr(settings, "SALUS_EXPORT_LINK_HOURS", 72))


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
    own_app = __package__.rpartition(".")[0]  # "consent": this package is `consent.privacy`
    modules = []
    for app_config in apps.get_app_configs():
        name = f"{app_config.name}.privacy_export"
        if app_config.name != own_app and importlib.util.find_spec(name) is not None:
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
