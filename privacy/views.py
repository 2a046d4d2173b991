"""Portal pages for privacy rights: ask for a copy of one's data or for erasure, follow the
requests, download a ready export. Views validate, fetch through selectors and call services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.auth import login_required_landing
from core.forms import form_errors_from_service
from patients.models import AccessChannel
from patients.selectors import patient_for_portal_user
from patients.services import access_log_record

from .forms import PrivacyRequestForm
from .models import PrivacyRequestChannel, PrivacyRequestKind, PrivacyRequestStatus
from .selectors import (
    privacy_export_file,
    privacy_export_get_for_download,
    privacy_requests_for_patient,
)
from .services import (
    export_link_hours,
    privacy_request_create,
)


@login_required_landing()
@require_http_methods(["GET", "POST"])
def privacy_home(request):
    patient = patient_for_portal_user(user=request.user)
    if request.method == "POST":
        form = PrivacyRequestForm(request.POST)
        if form.is_valid():
            try:
                created = privacy_request_create(
                    actor=request.user,
                    patient=patient,
                    kind=form.cleaned_data["kind"],
                    channel=PrivacyRequestChannel.PORTAL,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc)
            else:
                if created.kind == PrivacyRequestKind.EXPORT:
                    messages.success(request, _("We are preparing a copy of your data. We will email you when it is ready."))
                else:
                    messages.success(request, _("Your erasure request was sent. An administrator will answer it."))
                return redirect("privacy:home")
    else:
        form = PrivacyRequestForm()
    now = timezone.now()
    requests = list(privacy_requests_for_patient(patient=patient)[:50])
    for item in requests:
        item.downloadable = (
            item.kind == PrivacyRequestKind.EXPORT
            and item.status == PrivacyRequestStatus.DONE
            and bool(item.json_path and item.pdf_path)
            and not item.link_expired(now)
        )
        item.expired = (
            item.kind == PrivacyRequestKind.EXPORT and item.status == PrivacyRequestStatus.DONE and not item.downloadable
        )
    return render(
        request,
        "privacy/home.html",
        {"patient": patient, "form": form, "requests": requests, "link_hours": export_link_hours()},
    )


@login_required_landing("privacy:home")
@require_GET
def privacy_export_download(request, token: str, fmt: str):
    """A ready export, to its patient or an administrator (404 to anyone else); 410 once expired.
    An anonymous click on the emailed link signs in to the privacy page, which lists the download:
    the token never travels in a query string."""
    export = privacy_export_get_for_download(user=request.user, token=token)
    found = privacy_export_file(request=export, fmt=fmt)
    if found is None:
        response = render(request, "privacy/expired.html", {"export": export}, status=410)
        add_never_cache_headers(response)
        return response
    path, filename, content_type = found
    if export.patient.user_id != request.user.pk:
        access_log_record(
            actor=request.user, patient=export.patient, resource="export", channel=AccessChannel.STAFF_PAGES, request=request
        )
    response = FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type=content_type)
    add_never_cache_headers(response)
    return response
