from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from patients.permissions import PATIENT_SELF_EDITABLE_FIELDS
from patients.selectors import patient_for_portal_user
from patients.services import patient_update

from .forms import ContactDetailsForm


@login_required
def home(request):
    if request.user.is_staff and not hasattr(request.user, "patient"):
        return redirect("admin:index")
    patient = patient_for_portal_user(user=request.user)
    return render(request, "portal/home.html", {"patient": patient})


@login_required
def profile(request):
    patient = patient_for_portal_user(user=request.user)
    if request.method == "POST":
        form = ContactDetailsForm(request.POST)
        if form.is_valid():
            try:
                patient_update(actor=request.user, patient=patient, changes=form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Your contact details were saved."))
                return redirect("portal:profile")
    else:
        form = ContactDetailsForm(initial={f: getattr(patient, f) for f in PATIENT_SELF_EDITABLE_FIELDS})
    return render(request, "portal/profile.html", {"patient": patient, "form": form})
