"""Portal pages for a patient's consents (mounted at /portal/consents/): list, sign, withdraw,
download a receipt, verify a receipt against the ledger."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.auth import login_required_landing
from core.files import private_file_path
from core.forms import form_errors_from_service
from core.http import client_ip, client_user_agent
from patients.models import AccessChannel
from patients.permissions import user_may_open_patient_record
from patients.selectors import patient_for_portal_user
from patients.services import access_log_record

from .forms import ConsentSignForm, ConsentVerifyForm, ConsentWithdrawForm
from .models import LANGUAGES, ConsentStatus, Purpose
from .permissions import user_may_see_consents
from .selectors import (
    consent_current_version,
    consent_get_for_patient,
    consent_is_active,
    consent_offers_for_patient,
    consent_receipt_get_for_user,
    consent_shown_status,
    consent_verify_lookup,
    consents_for_patient,
)
from .services import consent_sign, consent_withdraw


def reading_language(patient) -> str:
    """The language a patient reads a consent text in: the language of the page they are on.

    The portal opens in the patient's preferred language and changes only when they pick another
    one in the language switcher, so the current language is the one they actually read. Showing
    the wording in the record's language inside a page they switched to English would make them
    sign a text they may not have understood; the receipt is written in the same language.
    """
    current = (translation.get_language() or "").split("-")[0]
    if current in LANGUAGES:
        return current
    return patient.preferred_language if patient.preferred_language in LANGUAGES else "en"


# Where a sign page returns to, held in the session per purpose (never in a query string, where a
# visit's id would reach server logs, the browser's history and the next page's `Referer`).
RETURN_SESSION_KEY = "consent.return_to"


def return_to_set(request, *, purpose: str, url: str) -> None:
    """Have the sign page of `purpose` lead back to `url` (a path on this site), e.g. a visit
    waiting for this consent."""
    returns = dict(request.session.get(RETURN_SESSION_KEY) or {})
    returns[purpose] = url
    request.session[RETURN_SESSION_KEY] = returns


def next_url(request, purpose: str) -> str | None:
    """Where to go after signing when another page sent the patient here: a path on this site only,
    never another host."""
    candidate = (request.session.get(RETURN_SESSION_KEY) or {}).get(purpose, "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def _return_to_clear(request, purpose: str) -> None:
    returns = dict(request.session.get(RETURN_SESSION_KEY) or {})
    if returns.pop(purpose, None) is not None:
        request.session[RETURN_SESSION_KEY] = returns


def receipt_response(consent) -> FileResponse:
    """The receipt PDF as a download that no shared cache keeps."""
    try:
        handle = private_file_path(consent.receipt_path).open("rb") if consent.receipt_path else None
    except (OSError, ValueError):
        handle = None
    if handle is None:
        raise Http404("No receipt.")
    filename = f"consent-{consent.purpose}-{timezone.localtime(consent.signed_at):%Y-%m-%d}-{consent.pk}.pdf"
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/pdf")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required_landing()
def consent_list(request):
    patient = patient_for_portal_user(user=request.user)
    consents = list(consents_for_patient(patient=patient))
    language = reading_language(patient)
    offers = [
        {"purpose": v.template.purpose, "title": v.title_for(language), "label": Purpose(v.template.purpose).label}
        for v in consent_offers_for_patient(patient=patient, consents=consents)
    ]
    return render(
        request,
        "consent/list.html",
        {"patient": patient, "consents": consents, "offers": offers, "ACTIVE": ConsentStatus.ACTIVE},
    )


@login_required_landing()
@require_http_methods(["GET", "POST"])
def consent_sign_page(request, purpose: str):
    patient = patient_for_portal_user(user=request.user)
    if purpose not in Purpose.values:
        raise Http404("No such purpose.")
    version = consent_current_version(purpose=purpose)
    if version is None:
        raise Http404("Nothing to sign for this purpose.")
    language = reading_language(patient)
    if request.method == "POST":
        form = ConsentSignForm(request.POST)
        if form.is_valid():
            shown = form.cleaned_data["version"], form.cleaned_data["language"]
            if shown != (version.pk, language):
                # A new wording came into force, or the page language changed, since the page was
                # opened: what would be signed is not what was read.
                form = ConsentSignForm({**request.POST.dict(), "version": version.pk, "language": language})
                form.is_valid()
                form.add_error(None, _("The text has changed since you opened this page. Read it again below, then sign."))
            else:
                try:
                    consent_sign(
                        actor=request.user,
                        patient=patient,
                        purpose=purpose,
                        method="portal",
                        signer_name=form.cleaned_data["signer_name"],
                        representative_capacity=form.cleaned_data["representative_capacity"],
                        language=language,
                        version=version,
                        ip_address=client_ip(request),
                        user_agent=client_user_agent(request),
                    )
                except ValidationError as exc:
                    form_errors_from_service(form, exc)
                else:
                    messages.success(request, _("Thank you. Your consent is recorded; your receipt is ready to download."))
                    back = next_url(request, purpose)
                    _return_to_clear(request, purpose)
                    return redirect(back or "consent:list")
    else:
        form = ConsentSignForm(initial={"version": version.pk, "language": language, "signer_name": ""})
    already = consent_is_active(patient=patient, purpose=purpose)
    return render(
        request,
        "consent/sign.html",
        {
            "patient": patient,
            "form": form,
            "purpose_label": Purpose(purpose).label,
            "title": version.title_for(language),
            "text": version.text_for(language),
            "version": version,
            "language": language,
            "already_active": already,
            # The page that sent the patient here (a visit waiting for this consent), else their consents.
            "back_url": next_url(request, purpose) or reverse("consent:list"),
        },
    )


@login_required_landing("consent:list")  # the consent's id stays out of the sign-in URL
@require_http_methods(["GET", "POST"])
def consent_withdraw_page(request, pk: int):
    patient = patient_for_portal_user(user=request.user)
    consent = consent_get_for_patient(patient=patient, pk=pk)
    form = ConsentWithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            consent_withdraw(actor=request.user, consent=consent, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form_errors_from_service(form, exc)
        else:
            messages.success(request, _("Your consent is withdrawn. It no longer applies, from now on."))
            return redirect("consent:list")
    return render(
        request,
        "consent/withdraw.html",
        {
            "patient": patient,
            "consent": consent,
            "form": form,
            "is_active": consent_shown_status(consent) == ConsentStatus.ACTIVE,
            "title": consent.version.title_for(consent.language),
        },
    )


@login_required_landing("consent:list")  # the consent's id stays out of the sign-in URL
def consent_receipt(request, pk: int):
    """The receipt for the patient themself, or for staff who may open the patient (access-logged)."""
    consent, by_staff = consent_receipt_get_for_user(user=request.user, pk=pk)
    response = receipt_response(consent)
    if by_staff:
        access_log_record(
            actor=request.user,
            patient=consent.patient,
            resource="consent_receipt",
            channel=AccessChannel.STAFF_PAGES,
            request=request,
        )
    return response


@login_required_landing()
@require_http_methods(["GET", "POST"])
def consent_verify(request):
    """Check a receipt (or a SHA-256) against the ledger. Staff and patients; the patient's name
    only for someone who may see that patient."""
    if not request.user.is_staff:
        patient_for_portal_user(user=request.user)  # 404 for an account that is neither
    posted = request.method == "POST"
    form = ConsentVerifyForm(request.POST if posted else None, request.FILES if posted else None)
    result = None
    if posted and form.is_valid():
        result = _verification(request, form.cleaned_data["hash"])
    return render(
        request,
        "consent/verify.html",
        {"form": form, "result": result},
    )


def _verification(request, sha256: str) -> dict:
    kind, consent = consent_verify_lookup(sha256=sha256)
    result: dict = {"kind": kind, "sha256": sha256}
    if consent is None:
        return result
    version = consent.version
    result.update(
        purpose=consent.get_purpose_display(),
        version=version.version,
        effective_from=version.effective_from,
        language=consent.language,
    )
    if kind != "receipt":
        # Many people sign the same wording: its hash says which text it is, not whose consent.
        return result
    result.update(
        status=consent_shown_status(consent),
        signed_at=consent.signed_at,
        withdrawn_at=consent.withdrawn_at,
        expires_at=consent.expires_at,
        method=consent.get_method_display(),
    )
    own = consent.patient.user_id == request.user.pk
    if own or (user_may_see_consents(request.user) and user_may_open_patient_record(request.user, consent.patient)):
        result["patient"] = consent.patient
        result["time_zone"] = consent.patient.time_zone
        if not own:
            access_log_record(
                actor=request.user,
                patient=consent.patient,
                resource="consent_verify",
                channel=AccessChannel.STAFF_PAGES,
                request=request,
            )
    return result
