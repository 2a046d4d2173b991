"""Erasure of a patient (GDPR Art. 17): every app's share of it (their `privacy_share` modules,
see `core.privacy`) in one transaction, the audit trail kept."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.files import private_file_delete
from core.privacy import ERASED_GIVEN_NAME, ERASED_TEXT, ErasureContext, Identity, erasure_pseudonym, shares
from notifications.services import outbox_event_emit
from patients.models import Patient

from ..models import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from ..permissions import actor_may_decide_privacy, actor_may_run_privacy_work
from .mentions import erasure_mentions_find, erasure_mentions_record

logger = logging.getLogger(__name__)

# Domain events (ids only in their payloads).
PATIENT_ERASED = "patient.erased"

__all__ = ["ERASED_GIVEN_NAME", "ERASED_TEXT", "PATIENT_ERASED", "erasure_pseudonym", "privacy_erase", "privacy_erase_run"]


def erasure_identity(patient: Patient) -> Identity:
    """What identifies the patient directly, from every app's rows, gathered before anything changes."""
    identity = Identity()
    for share in shares():
        if share.identity is not None:
            identity = identity.merged(share.identity(patient))
    return identity


@transaction.atomic
def privacy_erase(*, actor, request: PrivacyRequest) -> PrivacyRequest:
    """Carry out an approved erasure: pseudonymize the patient everywhere, keep the audit trail.

    Each app erases its own rows, in their shares' order (see each app's `privacy_share` module for
    what it does): consents withdrawn and signatures replaced, visits to come cancelled silently,
    export files deleted, the record pseudonymized with every version, free text naming the patient
    scrubbed, pending messages cancelled and sent ones stripped, the portal account disabled. The
    access log and the consent ledger keep their rows: they hold ids, hashes and staff labels, and
    their hash chains must still verify.

    Other patients' records that quote the patient (a name or phone number in someone else's
    clinical note, current text or past versions) are found first and left as they are: each
    becomes an item for an administrator to review (`erasure_mention_decide`).

    Files are deleted last, inside the transaction: if the commit then failed, the request would
    stay approved and run again, rather than be marked done with files left behind.
    """
    if not actor_may_decide_privacy(actor):
        raise PermissionDenied
    request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == PrivacyRequestStatus.DONE:
        return request
    if request.kind != PrivacyRequestKind.ERASURE or request.status != PrivacyRequestStatus.APPROVED:
        raise ValidationError({"status": _("Only an approved erasure request can be carried out.")})
    patient = Patient.objects.select_for_update(of=("self",)).select_related("user").get(pk=request.patient_id)
    ctx = ErasureContext(
        patient=patient, actor=actor, identity=erasure_identity(patient), reason=f"Erasure request #{request.pk}"
    )
    found = erasure_mentions_find(patient=patient)
    for share in shares():
        if share.erase is not None:
            share.erase(ctx)
    erasure_mentions_record(actor=actor, request=request, found=found)

    request.status = PrivacyRequestStatus.DONE
    request.completed_at = timezone.now()
    request.error = ""
    request.save(update_fields=["status", "completed_at", "error"])
    outbox_event_emit(topic=PATIENT_ERASED, patient_id=patient.pk, payload={"patient_id": patient.pk, "request_id": request.pk})
    for path in ctx.files:
        private_file_delete(path)
    return request


def privacy_erase_run(*, actor, request_id: int) -> bool:
    """The task's entry: erase for an approved request, as the administrator who approved it.
    Idempotent (a done request is left alone); a failure is recorded on the request. Background
    work: `actor` is the worker's system actor."""
    if not actor_may_run_privacy_work(actor):
        raise PermissionDenied
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
