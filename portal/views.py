from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from consent.report import record_read_row, record_reads_for_patient
from core.auth import login_required_landing
from core.forms import form_errors_from_service
from core.time import time_zone_of
from patients.permissions import PATIENT_SELF_EDITABLE_FIELDS
from patients.selectors import patient_for_portal_user
from patients.services import patient_update
from scheduling.selectors import next_visit_for_patient

from .forms import ContactDetailsForm


@login_required_landing()
def home(request):
    if request.user.is_staff and not hasattr(request.user, "patient"):
        return redirect("admin:index")
    patient = patient_for_portal_user(user=request.user)
    next_visit = next_visit_for_patient(patient=patient)
    return render(request, "portal/home.html", {"patient": patient, "next_visit": next_visit, "tz": time_zone_of(patient)})


@login_required_landing()
def profile(request):
    patient = patient_for_portal_user(user=request.user)
    if request.method == "POST":
        form = ContactDetailsForm(request.POST)
        if form.is_valid():
            try:
                patient_update(actor=request.user, patient=patient, changes=form.cleaned_data)
            except ValidationError as exc:
                form_errors_from_service(form, exc)
            else:
                messages.success(request, _("Your contact details were saved."))
                return redirect("portal:profile")
    else:
        form = ContactDetailsForm(initial={f: getattr(patient, f) for f in PATIENT_SELF_EDITABLE_FIELDS})
    return render(request, "portal/profile.html", {"patient": patient, "form": form})


ACCESS_LOG_PAGE_SIZE = 25


@login_required_landing()
def access_log(request):
    """Who read the signed-in patient's record over the last twelve months, newest first."""
    patient = patient_for_portal_user(user=request.user)
    reads = record_reads_for_patient(patient=patient, reader=request.user)
    page = Paginator(reads, ACCESS_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/access_log.html",
        {
            "patient": patient,
            "page": page,
            "rows": [record_read_row(entry) for entry in page.object_list],
            "tz": time_zone_of(patient),  # the time zone the patient chose in "My details"
        },
    )
