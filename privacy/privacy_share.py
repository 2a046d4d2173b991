"""Privacy requests' own share of a data export and of an erasure (see `core.privacy`).

Export: the patient's privacy requests. Erasure: export files are deleted and their links end;
exports still being prepared fail ("the record was erased")."""

from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.privacy import ErasureContext, ExportSection, PrivacyShare, patient_rows_scrub, share_register

from .models import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus


def _section_privacy_requests(patient) -> list[dict]:
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


SECTIONS = (
    ExportSection(
        "privacy_requests",
        gettext_lazy("Your privacy requests"),
        _section_privacy_requests,
        (
            ("requested_at", gettext_lazy("Asked at")),
            ("kind", gettext_lazy("Request"), dict(PrivacyRequestKind.choices)),
            ("status", gettext_lazy("Status"), dict(PrivacyRequestStatus.choices)),
        ),
        order=80,
    ),
)


def _erase(ctx: ErasureContext) -> None:
    exports = PrivacyRequest.objects.filter(patient=ctx.patient, kind=PrivacyRequestKind.EXPORT)
    for json_path, pdf_path in exports.values_list("json_path", "pdf_path"):
        ctx.files += [p for p in (json_path, pdf_path) if p]
    exports.update(json_path="", pdf_path="", download_token=None)
    exports.filter(status__in=[PrivacyRequestStatus.REQUESTED, PrivacyRequestStatus.PROCESSING]).update(
        status=PrivacyRequestStatus.FAILED, error="The record was erased.", completed_at=timezone.now()
    )
    patient_rows_scrub("privacy", ctx)


share_register(PrivacyShare(app_label="privacy", export_sections=SECTIONS, erase=_erase, erase_order=40))
