"""Privacy requests and exports as a user may see them (permission-aware reads)."""

import datetime as dt

from django.db.models import QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.permissions import user_is_administrator
from core.files import private_file_path
from patients.models import Patient
from patients.permissions import user_is_patient_of, user_may_open_patients
from patients.selectors import patients_for_user

from .models import ErasureMention, PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus


def privacy_requests_for_patient(*, patient: Patient) -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.filter(patient=patient)


def privacy_requests_for_user(*, user) -> QuerySet[PrivacyRequest]:
    """The requests a staff member may see: administrators all, others those of patients they see."""
    if not user.is_authenticated or not user.is_active or not user.is_staff:
        return PrivacyRequest.objects.none()
    if user_is_administrator(user):
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
    if request is None or request.status != PrivacyRequestStatus.DONE:
        raise Http404("No such export.")
    own = user_is_patient_of(user, request.patient)
    if not (user.is_authenticated and user.is_active and (own or user_is_administrator(user))):
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


def erasure_mentions_for_user(*, user) -> QuerySet[ErasureMention]:
    """Mentions of erased patients in other records: administrators only (they quote two patients)."""
    if not (user.is_authenticated and user_is_administrator(user)):
        return ErasureMention.objects.none()
    return ErasureMention.objects.select_related("owner_patient", "request", "decided_by")


def erasure_mention_get_for_user(*, user, pk) -> ErasureMention:
    try:
        return erasure_mentions_for_user(user=user).get(pk=pk)
    except (ErasureMention.DoesNotExist, ValueError, TypeError):
        raise Http404("No such mention.") from None
