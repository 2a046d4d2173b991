"""The export of a patient's data (GDPR Art. 15 and 20): every app's sections (their
`privacy_share` modules, see `core.privacy`), written as a JSON file and a readable PDF summary."""

import datetime as dt
import json
import logging
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.files import private_file_delete, private_file_write
from core.privacy import ExportSection, shares
from notifications.services import outbox_event_emit
from patients.models import AccessChannel, Patient
from patients.services import access_log_record

from ..models import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from ..permissions import actor_may_run_privacy_work
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


def export_sections() -> list[ExportSection]:
    """Every app's sections, in the order the export shows them."""
    sections = [section for share in shares() for section in share.export_sections]
    return sorted(sections, key=lambda section: section.order)


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
                fields = Patient._meta.concrete_fields
                labels = {f.name: f.verbose_name for f in fields}
                labels["portal_account"] = gettext_lazy("portal account")
                # Coded values (gender, language, channel) in words, as the portal shows them.
                choices = {f.name: dict(f.flatchoices) for f in fields if f.choices}
                facts = [
                    (capfirst(str(labels.get(k, k.replace("_", " ")))), _display(v, tz=tz, choices=choices.get(k)))
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
            "privacy/export_pdf.html",
            {
                "patient": patient,
                "blocks": blocks,
                "generated_at": _display(generated_at, tz=tz),
                "language": patient.preferred_language,
                "shown": PDF_ROWS_PER_SECTION,
            },
        )
    return HTML(string=html).write_pdf()


def privacy_export_build(*, actor, request_id: int) -> bool:
    """Build an export: the JSON of everything held on the patient and its PDF summary, stored
    privately; mark it ready with a download link that expires; tell the patient; log the read.

    Idempotent: the request is claimed with a compare-and-set UPDATE (`requested` → `processing`),
    so a second run, or a run published twice, builds nothing. Returns whether this call built it.
    Background work: `actor` is the worker's system actor, named on the access-log row.
    """
    if not actor_may_run_privacy_work(actor):
        raise PermissionDenied
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
            access_log_record(actor=actor, patient=patient, resource="export", channel=AccessChannel.TASK, action="export")
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
