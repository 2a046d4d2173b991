"""One's visits: the list, a visit's page, the intake before a virtual visit, moving and
cancelling (refusals beside the field), the calendar file and the video visit."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from consent.models import Purpose
from consent.selectors import consent_current_version, consent_is_active
from consent.views import return_to_set as consent_return_to_set
from core.auth import login_required_landing
from core.forms import form_errors_from_service
from core.ids import id_or_404
from patients.selectors import patient_for_portal_user

from ..forms import CancelForm, IntakeForm, RescheduleForm
from ..ics import appointment_ics
from ..models import Appointment, AppointmentStatus, Practitioner
from ..permissions import user_is_patient_of
from ..selectors import appointment_get_for_user, appointment_previous_intake, appointments_for_patient
from ..services import appointment_cancel, appointment_intake_submit, appointment_reschedule
from ..video import video_access
from .common import practitioners_for, start_or_none, week_of_slots

PAST_PAGE_SIZE = 20


def _own_appointment(request, pk) -> Appointment:
    """The appointment if the asker is its patient; 404 for anyone else, staff included."""
    appointment = appointment_get_for_user(user=request.user, pk=pk)
    if not user_is_patient_of(request.user, appointment.patient) or not appointment.patient.active:
        raise Http404("No such appointment.")
    return appointment


def _clinic_phone(appointment: Appointment) -> str:
    """Whom to call when a change can no longer be made online: the visit's place, else the practitioner's."""
    if appointment.location is not None and appointment.location.phone:
        return appointment.location.phone
    location = appointment.practitioner.locations.exclude(phone="").order_by("name").first()
    return location.phone if location else ""


def _consent_sign_url(appointment: Appointment) -> str | None:
    """The virtual-visit consent step of this visit, which comes back to it once signed (None if no
    text is published)."""
    if consent_current_version(purpose=Purpose.VIRTUAL_VISIT) is None:
        return None
    return reverse("scheduling:consent", args=[appointment.pk])


@login_required_landing("scheduling:list")
def appointment_consent(request, pk: int):
    """Send the patient to sign the virtual-visit consent, with the way back to this visit kept in
    the session (no id in the consent page's address)."""
    appointment = _own_appointment(request, pk)
    consent_return_to_set(request, purpose=Purpose.VIRTUAL_VISIT, url=reverse("scheduling:appointment", args=[appointment.pk]))
    return redirect("consent:sign", Purpose.VIRTUAL_VISIT)


@login_required_landing()
def appointment_list(request):
    patient = patient_for_portal_user(user=request.user)
    upcoming = list(appointments_for_patient(patient=patient, upcoming=True))
    past = Paginator(appointments_for_patient(patient=patient, upcoming=False), PAST_PAGE_SIZE).get_page(request.GET.get("page"))
    consent_active = True
    if any(a.virtual for a in upcoming):
        consent_active = consent_is_active(patient=patient, purpose=Purpose.VIRTUAL_VISIT)
    for appointment in upcoming:
        # What is still missing before the video link, each named only while it is missing.
        appointment.needs_intake = appointment.virtual and not appointment.intake_complete
        appointment.needs_consent = appointment.virtual and not consent_active
    return render(
        request,
        "scheduling/list.html",
        {"patient": patient, "upcoming": upcoming, "past": past, "tz": patient.time_zone, "now": timezone.now()},
    )


def _notice_deadline(appointment: Appointment) -> dt.datetime:
    """Until when the patient may move or cancel online (shown on the page; the service enforces it)."""
    return appointment.start - dt.timedelta(hours=appointment.service.cancellation_notice_hours)


def _changeable(appointment: Appointment, now: dt.datetime) -> bool:
    return appointment.status == AppointmentStatus.BOOKED and now <= _notice_deadline(appointment)


@login_required_landing("scheduling:list")
def appointment_detail(request, pk: int):
    appointment = _own_appointment(request, pk)
    now = timezone.now()
    access = video_access(user=request.user, appointment=appointment, now=now) if appointment.virtual else None
    booked = appointment.status == AppointmentStatus.BOOKED and appointment.end > now
    return render(
        request,
        "scheduling/appointment.html",
        {
            "patient": appointment.patient,
            "appointment": appointment,
            "access": access,
            "booked": booked,
            "changeable": _changeable(appointment, now),
            "deadline": _notice_deadline(appointment),
            "clinic_phone": _clinic_phone(appointment) if booked else "",
            "consent_sign_url": _consent_sign_url(appointment) if access and access.needs_consent else None,
            "tz": appointment.patient.time_zone,
            "now": now,
        },
    )


@login_required_landing("scheduling:list")
@require_http_methods(["GET", "POST"])
def appointment_intake(request, pk: int):
    appointment = _own_appointment(request, pk)
    patient = appointment.patient
    if appointment.status != AppointmentStatus.BOOKED:
        messages.warning(request, _("Intake is only taken for a booked visit."))
        return redirect("scheduling:appointment", pk=appointment.pk)
    if request.method == "POST":
        form = IntakeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = appointment_intake_submit(
                    actor=request.user,
                    appointment=appointment,
                    contact_phone=data["contact_phone"],
                    contact_email=data["contact_email"],
                    insurance_provider=data["insurance_provider"],
                    insurance_member_id=data["insurance_member_id"],
                    payment_reference=data["payment_reference"],
                    answers=form.answers(),
                    update_patient_record=data["update_patient_record"],
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc)
            else:
                messages.success(request, _("Thank you. Your details for this visit are saved."))
                if appointment.virtual and not consent_is_active(patient=patient, purpose=Purpose.VIRTUAL_VISIT):
                    sign_url = _consent_sign_url(appointment)
                    if sign_url:
                        return redirect(sign_url)
                return redirect("scheduling:appointment", pk=appointment.pk)
    else:
        answers = appointment.intake_answers or {}
        insurer, member_id = appointment.insurance_provider, appointment.insurance_member_id
        if appointment.intake_completed_at is None and not (insurer or member_id):
            previous = appointment_previous_intake(patient=patient, before=appointment)
            if previous is not None:
                insurer, member_id = previous.insurance_provider, previous.insurance_member_id
        form = IntakeForm(
            initial={
                "contact_phone": appointment.contact_phone or patient.phone,
                "contact_email": appointment.contact_email or patient.email,
                "insurance_provider": insurer,
                "insurance_member_id": member_id,
                "payment_reference": appointment.payment_reference,
                **{key: answers.get(key, "") for key in IntakeForm.ANSWER_FIELDS},
            }
        )
    return render(
        request,
        "scheduling/intake.html",
        {"patient": patient, "appointment": appointment, "form": form, "tz": patient.time_zone},
    )


def _without_current_time(days: list[dict], appointment: Appointment, practitioner: Practitioner) -> list[dict]:
    """The free times to move to, less the visit's own time (free to it, but no move)."""
    if practitioner.pk != appointment.practitioner_id:
        return days
    kept = []
    for group in days:
        slots = [choice for choice in group["slots"] if choice.slot.start != appointment.start]
        if slots:
            kept.append({**group, "slots": slots})
    return kept


@login_required_landing("scheduling:list")
@require_http_methods(["GET", "POST"])
def appointment_reschedule_page(request, pk: int):
    appointment = _own_appointment(request, pk)
    patient = appointment.patient
    zone = ZoneInfo(patient.time_zone)
    now = timezone.now()
    service = appointment.service
    practitioners = practitioners_for(service, virtual=appointment.virtual)
    start_errors: list[str] = []
    chosen = None
    if request.method == "POST":
        form = RescheduleForm(request.POST, practitioners=practitioners)
        if form.is_valid():
            practitioner = form.cleaned_data["practitioner"] or appointment.practitioner
            try:
                appointment = appointment_reschedule(
                    actor=request.user,
                    appointment=appointment,
                    start=form.cleaned_data["start"],
                    practitioner=practitioner if practitioner.pk != appointment.practitioner_id else None,
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc, aliases={"virtual": "start", "location": "start"})
            else:
                messages.success(request, _("Your visit is moved. An updated invitation is on its way to you."))
                return redirect("scheduling:appointment", pk=appointment.pk)
        practitioner = form.cleaned_data.get("practitioner") or appointment.practitioner
        start_errors = list(form.errors.get("start", []))
        chosen = start_or_none(request.POST.get("start"))
        # The refused time's week stays on screen (the week the patient was looking at), not the first one.
        week_param = request.POST.get("week") or (chosen.astimezone(zone).date().isoformat() if chosen else None)
    else:
        form = RescheduleForm(practitioners=practitioners)
        practitioner = appointment.practitioner
        if request.GET.get("practitioner"):
            practitioner = practitioners.filter(pk=id_or_404(request.GET["practitioner"])).first()
            if practitioner is None:
                raise Http404("No such practitioner for this visit.")
        week_param = request.GET.get("week")
    changeable = _changeable(appointment, now)
    week = None
    if changeable:
        week = week_of_slots(
            practitioner=practitioner,
            service=service,
            zone=zone,
            week=week_param,
            virtual=appointment.virtual,
            now=now,
            ignore_appointment_id=appointment.pk,
        )
    base_query = {"practitioner": practitioner.pk}
    return render(
        request,
        "scheduling/reschedule.html",
        {
            "patient": patient,
            "appointment": appointment,
            "form": form,
            "practitioner": practitioner,
            "practitioners": list(practitioners),
            "week": week,
            "week_end": week.monday + dt.timedelta(days=6) if week else None,
            "days": _without_current_time(week.days if week else [], appointment, practitioner),
            "previous_url": f"?{urlencode({**base_query, 'week': week.previous.isoformat()})}" if week and week.previous else "",
            "next_url": f"?{urlencode({**base_query, 'week': week.next.isoformat()})}" if week and week.next else "",
            "start_errors": start_errors,
            "changeable": changeable,
            "deadline": _notice_deadline(appointment),
            "clinic_phone": _clinic_phone(appointment),
            "tz": patient.time_zone,
        },
    )


@login_required_landing("scheduling:list")
@require_http_methods(["GET", "POST"])
def appointment_cancel_page(request, pk: int):
    appointment = _own_appointment(request, pk)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            appointment_cancel(actor=request.user, appointment=appointment, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form_errors_from_service(form, exc)
        else:
            messages.success(request, _("Your visit is cancelled. We have let the practitioner know."))
            return redirect("scheduling:list")
    now = timezone.now()
    return render(
        request,
        "scheduling/cancel.html",
        {
            "patient": appointment.patient,
            "appointment": appointment,
            "form": form,
            "changeable": _changeable(appointment, now),
            "booked": appointment.status == AppointmentStatus.BOOKED,
            "deadline": _notice_deadline(appointment),
            "clinic_phone": _clinic_phone(appointment),
            "tz": appointment.patient.time_zone,
        },
    )


@login_required_landing("scheduling:list")
def appointment_ics_download(request, pk: int):
    appointment = _own_appointment(request, pk)
    method = "CANCEL" if appointment.status == AppointmentStatus.CANCELLED else "REQUEST"
    response = HttpResponse(
        appointment_ics(appointment, method=method, for_practitioner=False),
        content_type=f"text/calendar; charset=utf-8; method={method}",
    )
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required_landing("scheduling:list")
def appointment_visit(request, pk: int):
    """The video visit: the link, for the patient of the visit, once consent and intake are done."""
    appointment = _own_appointment(request, pk)
    access = video_access(user=request.user, appointment=appointment)
    return render(
        request,
        "scheduling/visit.html",
        {
            "patient": appointment.patient,
            "appointment": appointment,
            "access": access,
            "consent_sign_url": _consent_sign_url(appointment) if access.needs_consent else None,
            "tz": appointment.patient.time_zone,
        },
    )
