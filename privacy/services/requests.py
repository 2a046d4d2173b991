"""Privacy requests: recording a patient's request for a copy of their data or for erasure, an
administrator's decision, running a failed one again, the open work a worker should pick up, and
telling the patient by email."""

import datetime as dt
import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.records import actor_user
from core.tasks import publish_on_commit
from notifications.models import OutboxChannel
from notifications.services import outbox_event_emit, outbox_message_enqueue, staff_notify
from patients.models import Patient
from patients.selectors import patient_email_recipient

from ..models import PrivacyRequest, PrivacyRequestChannel, PrivacyRequestKind, PrivacyRequestStatus
from ..permissions import actor_may_ask_privacy_for, actor_may_decide_privacy

logger = logging.getLogger(__name__)

# Domain events (ids only in their payloads).
PRIVACY_REQUEST_CREATED = "privacy.request.created"
PRIVACY_REQUEST_DECIDED = "privacy.request.decided"

REASON_MAX = 2000


def _claim_seconds() -> int:
    """After this long, a build left `processing` by a crashed worker may be taken over."""
    return int(getattr(settings, "SALUS_PRIVACY_CLAIM_SECONDS", 900))


def _publish_on_commit(task_name: str, request_id: int) -> None:
    """Hand the request to a worker once the transaction commits. The row is the durable record:
    if the broker is down it stays open and `privacy_requests_dispatch` publishes it later."""
    publish_on_commit(f"privacy.tasks.{task_name}", request_id, what=f"privacy request {request_id}")


def _portal_link() -> str:
    return f"{getattr(settings, 'SALUS_SITE_URL', '').rstrip('/')}{reverse('privacy:home')}"


def _tell_patient(*, request: PrivacyRequest, topic: str, subject: Callable[[], str], text: Callable[[], str]) -> None:
    """Email the patient that something happened, in their language. The body says where to look
    (the portal), never what their data holds."""
    patient = request.patient
    address, user = patient_email_recipient(patient)
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
    if not actor_may_ask_privacy_for(actor, patient):
        raise PermissionDenied
    if PrivacyRequest.objects.filter(patient=patient, kind=PrivacyRequestKind.ERASURE, status=PrivacyRequestStatus.DONE).exists():
        raise ValidationError({"kind": _("This record has been erased; there is nothing left to ask for.")})
    request = PrivacyRequest(
        patient=patient,
        kind=kind,
        channel=channel,
        reason=reason,
        requested_by=actor_user(actor),
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
                    link=reverse("admin:privacy_privacyrequest_change", args=[request.pk]),
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
    if not actor_may_decide_privacy(actor):
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
