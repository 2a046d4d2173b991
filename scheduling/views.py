"""Portal pages where a patient books, reads, moves and cancels their visits, gives the intake
before a virtual visit and joins it (mounted at /portal/appointments/).

Booking runs service → practitioner → free time (a week at a time) → confirmation; every write
goes through the scheduling services, and their refusals (a time just taken, a late
cancellation) are shown beside the field with fresh times to choose from.

Every page about one appointment fetches it through `appointment_get_for_user` and then requires
that the asker is its patient: staff who may see the visit in the admin get 404 here, as does
any other patient. Query strings carry ids, a mode, a week and slot start times, never anything
personal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from consent.models import Purpose
from consent.selectors import consent_current_version, consent_is_active
from patients.selectors import patient_for_portal_user

from .availability import Slot, slots_free
from .forms import (
    MODE_IN_PERSON,
    MODE_VIRTUAL,
    BookingConfirmForm,
    CancelForm,
    IntakeForm,
    PractitionerFilterForm,
    RescheduleForm,
    form_errors_from_service,
    mode_to_virtual,
    parse_slot_start,
)
from .ics import appointment_ics
from .models import Appointment, AppointmentStatus, BookingChannel, Location, Practitioner, Service
from .permissions import user_is_patient_of
from .selectors import appointment_get_for_user, appointments_for_patient, practitioners_bookable, services_bookable
from .services import appointment_book, appointment_cancel, appointment_intake_submit, appointment_reschedule
from .video import video_access

PAST_PAGE_SIZE = 20
# How many other free times a refused booking offers in its place.
FRESH_SLOTS = 12
_MAX_ID = 2**63 - 1


# --- look-ups ---------------------------------------------------------------------------------


def _id_or_404(value) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise Http404("Not found.") from None
    if not 0 < pk <= _MAX_ID:
        raise Http404("Not found.")
    return pk


def _service_or_404(service_id) -> Service:
    service = services_bookable().filter(pk=_id_or_404(service_id)).first()
    if service is None:
        raise Http404("No such service.")
    return service


def _practitioners(service: Service, *, virtual: bool | None = None):
    return practitioners_bookable(service=service, virtual=virtual).prefetch_related("locations")


def _practitioner_or_404(service: Service, value) -> Practitioner:
    practitioner = _practitioners(service).filter(pk=_id_or_404(value)).first()
    if practitioner is None:
        raise Http404("No such practitioner for this service.")
    return practitioner


def _own_appointment(request, pk) -> Appointment:
    """The appointment if the asker is its patient; 404 for anyone else, staff included."""
    appointment = appointment_get_for_user(user=request.user, pk=pk)
    if not user_is_patient_of(request.user, appointment.patient) or not appointment.patient.active:
        raise Http404("No such appointment.")
    return appointment


def _start_or_none(value) -> dt.datetime | None:
    try:
        return parse_slot_start(value)
    except ValidationError:
        return None


def _mode(value, service: Service) -> str:
    """A kind of visit asked for in a query string, if the service offers it ("" for either)."""
    if value == MODE_VIRTUAL and service.virtual_allowed:
        return value
    if value == MODE_IN_PERSON and service.in_person_allowed:
        return value
    return ""


def _modes_possible(service: Service, practitioner: Practitioner) -> tuple[bool, bool]:
    return (
        service.virtual_allowed and practitioner.offers_virtual,
        service.in_person_allowed and practitioner.offers_in_person,
    )


def _language_names(codes) -> list[str]:
    names = []
    for code in codes or ():
        try:
            names.append(get_language_info(code)["name_translated"])
        except KeyError:
            continue
    return names


def _clinic_phone(appointment: Appointment) -> str:
    """Whom to call when a change can no longer be made online: the visit's place, else the practitioner's."""
    if appointment.location is not None and appointment.location.phone:
        return appointment.location.phone
    location = appointment.practitioner.locations.exclude(phone="").order_by("name").first()
    return location.phone if location else ""


def _consent_sign_url(appointment: Appointment) -> str | None:
    """The virtual-visit consent page, coming back to the appointment once signed (None if no text is published)."""
    if consent_current_version(purpose=Purpose.VIRTUAL_VISIT) is None:
        return None
    back = reverse("scheduling:appointment", args=[appointment.pk])
    return f"{reverse('consent:sign', args=[Purpose.VIRTUAL_VISIT])}?{urlencode({'next': back})}"


# --- free times, a week at a time -------------------------------------------------------------


@dataclass
class SlotChoice:
    slot: Slot
    local: dt.datetime  # in the patient's time zone
    value: str  # the start as the pages carry it: ISO 8601 in UTC
    href: str = ""
    location: Location | None = None


@dataclass
class Week:
    monday: dt.date
    days: list[dict]
    previous: dt.date | None
    next: dt.date | None


def slot_value(start: dt.datetime) -> str:
    return start.astimezone(dt.UTC).isoformat()


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _week_bounds(monday: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(monday, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min, tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _by_day(slots: list[Slot], zone: ZoneInfo, *, href=None, locations: dict | None = None) -> list[dict]:
    days: dict[dt.date, list[SlotChoice]] = {}
    for slot in slots:
        local = slot.start.astimezone(zone)
        value = slot_value(slot.start)
        days.setdefault(local.date(), []).append(
            SlotChoice(
                slot=slot,
                local=local,
                value=value,
                href=href(value) if href else "",
                location=(locations or {}).get(slot.location_id),
            )
        )
    return [{"day": day, "slots": choices} for day, choices in days.items()]


def _week_of_slots(
    *,
    practitioner: Practitioner,
    service: Service,
    zone: ZoneInfo,
    week: str | None,
    virtual: bool | None,
    now: dt.datetime,
    href=None,
    ignore_appointment_id: int | None = None,
) -> Week:
    """The free times of one week (Monday to Sunday in the patient's time zone) inside the
    booking window. Without a week asked for, the first week that has a free time."""
    first = _monday(now.astimezone(zone).date())
    last = _monday((now + dt.timedelta(days=service.max_days_ahead)).astimezone(zone).date())
    try:
        asked = _monday(dt.date.fromisoformat(week)) if week else None
    except (ValueError, OverflowError):
        asked = None
    search = {
        "practitioner": practitioner,
        "service": service,
        "virtual": virtual,
        "now": now,
        "enforce_booking_window": True,
        "ignore_appointment_id": ignore_appointment_id,
    }
    if asked is None:
        # One search over the whole window (the same queries as one week): open where the free times are.
        upcoming = slots_free(start=now, end=now + dt.timedelta(days=service.max_days_ahead), **search)
        monday = _monday(upcoming[0].start.astimezone(zone).date()) if upcoming else first
        start, end = _week_bounds(monday, zone)
        slots = [s for s in upcoming if start <= s.start < end]
    else:
        monday = min(max(asked, first), last)
        start, end = _week_bounds(monday, zone)
        slots = slots_free(start=start, end=end, **search)
    locations = {location.pk: location for location in practitioner.locations.all()}
    return Week(
        monday=monday,
        days=_by_day(slots, zone, href=href, locations=locations),
        previous=monday - dt.timedelta(days=7) if monday > first else None,
        next=monday + dt.timedelta(days=7) if monday < last else None,
    )


def _slot_at(*, practitioner: Practitioner, service: Service, start: dt.datetime, now: dt.datetime) -> Slot | None:
    """The free slot starting exactly at `start`, whichever kinds of visit it allows."""
    found = slots_free(
        practitioner=practitioner,
        service=service,
        start=start,
        end=start + dt.timedelta(seconds=1),
        now=now,
        enforce_booking_window=True,
    )
    return next((slot for slot in found if slot.start == start), None)


def _fresh_slots(
    *,
    practitioner: Practitioner,
    service: Service,
    zone: ZoneInfo,
    around: dt.datetime | None,
    now: dt.datetime,
    virtual: bool | None = None,
    ignore_appointment_id: int | None = None,
) -> list[dict]:
    """Free times to offer instead of one that was refused: from the start of that day on, a week long."""
    start = now
    if around is not None:
        start = max(now, dt.datetime.combine(around.astimezone(zone).date(), dt.time.min, tzinfo=zone))
    slots = slots_free(
        practitioner=practitioner,
        service=service,
        start=start,
        end=start + dt.timedelta(days=7),
        virtual=virtual,
        now=now,
        enforce_booking_window=True,
        ignore_appointment_id=ignore_appointment_id,
    )
    if not slots:
        slots = slots_free(
            practitioner=practitioner,
            service=service,
            start=now,
            end=now + dt.timedelta(days=service.max_days_ahead),
            virtual=virtual,
            now=now,
            enforce_booking_window=True,
            ignore_appointment_id=ignore_appointment_id,
        )
    locations = {location.pk: location for location in practitioner.locations.all()}
    return _by_day(slots[:FRESH_SLOTS], zone, locations=locations)


# --- booking ----------------------------------------------------------------------------------


@login_required
def book_service(request):
    patient = patient_for_portal_user(user=request.user)
    return render(request, "scheduling/book_service.html", {"patient": patient, "services": list(services_bookable())})


@login_required
def book_practitioner(request, service_id: int):
    patient = patient_for_portal_user(user=request.user)
    service = _service_or_404(service_id)
    form = PractitionerFilterForm(request.GET or None)
    mode = _mode(form.cleaned_data["mode"], service) if form.is_bound and form.is_valid() else ""
    practitioners = list(_practitioners(service, virtual=mode_to_virtual(mode)))
    rows = []
    for practitioner in practitioners:
        can_virtual, can_in_person = _modes_possible(service, practitioner)
        query = {"practitioner": practitioner.pk, **({"mode": mode} if mode else {})}
        rows.append(
            {
                "practitioner": practitioner,
                "languages": _language_names(practitioner.languages),
                "virtual": can_virtual,
                "in_person": can_in_person,
                "locations": list(practitioner.locations.all()) if can_in_person else [],
                "href": f"{reverse('scheduling:book_slot', args=[service.pk])}?{urlencode(query)}",
            }
        )
    return render(
        request,
        "scheduling/book_practitioner.html",
        {"patient": patient, "service": service, "form": form, "rows": rows, "mode": mode},
    )


@login_required
def book_slot(request, service_id: int):
    patient = patient_for_portal_user(user=request.user)
    service = _service_or_404(service_id)
    if "practitioner" not in request.GET:
        return redirect("scheduling:book_practitioner", service_id=service.pk)
    practitioner = _practitioner_or_404(service, request.GET["practitioner"])
    mode = _mode(request.GET.get("mode"), service)
    zone = ZoneInfo(patient.time_zone)
    confirm_url = reverse("scheduling:book_confirm", args=[service.pk])

    def href(value: str) -> str:
        query = {"practitioner": practitioner.pk, "start": value, **({"mode": mode} if mode else {})}
        return f"{confirm_url}?{urlencode(query)}"

    week = _week_of_slots(
        practitioner=practitioner,
        service=service,
        zone=zone,
        week=request.GET.get("week"),
        virtual=mode_to_virtual(mode),
        now=timezone.now(),
        href=href,
    )
    base_query = {"practitioner": practitioner.pk, **({"mode": mode} if mode else {})}
    return render(
        request,
        "scheduling/book_slot.html",
        {
            "patient": patient,
            "service": service,
            "practitioner": practitioner,
            "languages": _language_names(practitioner.languages),
            "mode": mode,
            "week": week,
            "week_end": week.monday + dt.timedelta(days=6),
            "previous_url": f"?{urlencode({**base_query, 'week': week.previous.isoformat()})}" if week.previous else "",
            "next_url": f"?{urlencode({**base_query, 'week': week.next.isoformat()})}" if week.next else "",
            "tz": patient.time_zone,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def book_confirm(request, service_id: int):
    patient = patient_for_portal_user(user=request.user)
    service = _service_or_404(service_id)
    zone = ZoneInfo(patient.time_zone)
    now = timezone.now()
    practitioners = _practitioners(service)
    start_errors: list[str] = []
    if request.method == "POST":
        form = BookingConfirmForm(request.POST, practitioners=practitioners)
        if form.is_valid():
            try:
                appointment = appointment_book(
                    actor=request.user,
                    patient=patient,
                    practitioner=form.cleaned_data["practitioner"],
                    service=service,
                    start=form.cleaned_data["start"],
                    virtual=form.virtual,
                    reason=form.cleaned_data["reason"],
                    channel=BookingChannel.PORTAL,
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc, aliases={"virtual": "mode", "location": "mode"})
            else:
                return _after_booking(request, appointment)
        practitioner = form.cleaned_data.get("practitioner")
        start = _start_or_none(request.POST.get("start"))  # also when the service refused it
        mode = _mode(request.POST.get("mode"), service)
        start_errors = list(form.errors.get("start", []))
    else:
        practitioner = _practitioner_or_404(service, request.GET.get("practitioner"))
        mode = _mode(request.GET.get("mode"), service)
        try:
            start = parse_slot_start(request.GET.get("start"))
        except ValidationError as exc:
            start, start_errors = None, exc.messages
        form = BookingConfirmForm(
            initial={"practitioner": practitioner.pk, "start": slot_value(start) if start else "", "mode": mode},
            practitioners=practitioners,
        )
    slot = None
    if practitioner is not None and start is not None and not start_errors:
        slot = _slot_at(practitioner=practitioner, service=service, start=start, now=now)
        if slot is None:
            start_errors = [_("This time is no longer free. Choose another time below.")]
    fresh = []
    if practitioner is not None and slot is None:
        fresh = _fresh_slots(practitioner=practitioner, service=service, zone=zone, around=start, now=now)
    can_virtual, can_in_person = _modes_possible(service, practitioner) if practitioner else (False, False)
    if slot is not None:
        can_virtual, can_in_person = slot.virtual, slot.in_person
    locations = {location.pk: location for location in practitioner.locations.all()} if practitioner else {}
    only_mode = ""
    if can_virtual != can_in_person:
        only_mode = MODE_VIRTUAL if can_virtual else MODE_IN_PERSON
    return render(
        request,
        "scheduling/book_confirm.html",
        {
            "patient": patient,
            "service": service,
            "practitioner": practitioner,
            "form": form,
            "slot": slot,
            "slot_local": slot.start.astimezone(zone) if slot else None,
            "slot_value": slot_value(slot.start) if slot else "",
            "location": locations.get(slot.location_id) if slot else None,
            "start_errors": start_errors,
            "fresh": fresh,
            "only_mode": only_mode,
            "mode": mode,
            "slots_url": (
                f"{reverse('scheduling:book_slot', args=[service.pk])}?{urlencode({'practitioner': practitioner.pk})}"
                if practitioner
                else reverse("scheduling:book_practitioner", args=[service.pk])
            ),
            "tz": patient.time_zone,
        },
    )


def _after_booking(request, appointment: Appointment):
    if appointment.virtual:
        messages.success(
            request, _("Your visit is booked. Before the video visit, please confirm a few details and sign the consent.")
        )
        return redirect("scheduling:intake", pk=appointment.pk)
    messages.success(request, _("Your visit is booked. A confirmation is on its way to you."))
    return redirect("scheduling:appointment", pk=appointment.pk)


# --- one's appointments -----------------------------------------------------------------------


@login_required
def appointment_list(request):
    patient = patient_for_portal_user(user=request.user)
    upcoming = list(appointments_for_patient(patient=patient, upcoming=True))
    past = Paginator(appointments_for_patient(patient=patient, upcoming=False), PAST_PAGE_SIZE).get_page(request.GET.get("page"))
    consent_active = True
    if any(a.virtual for a in upcoming):
        consent_active = consent_is_active(patient, Purpose.VIRTUAL_VISIT)
    for appointment in upcoming:
        appointment.to_do = appointment.virtual and not (appointment.intake_complete and consent_active)
    return render(
        request,
        "scheduling/list.html",
        {"patient": patient, "upcoming": upcoming, "past": past, "tz": patient.time_zone},
    )


def _notice_deadline(appointment: Appointment) -> dt.datetime:
    """Until when the patient may move or cancel online (shown on the page; the service enforces it)."""
    return appointment.start - dt.timedelta(hours=appointment.service.cancellation_notice_hours)


def _changeable(appointment: Appointment, now: dt.datetime) -> bool:
    return appointment.status == AppointmentStatus.BOOKED and now <= _notice_deadline(appointment)


@login_required
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
        },
    )


@login_required
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
                if appointment.virtual and not consent_is_active(patient, Purpose.VIRTUAL_VISIT):
                    sign_url = _consent_sign_url(appointment)
                    if sign_url:
                        return redirect(sign_url)
                return redirect("scheduling:appointment", pk=appointment.pk)
    else:
        answers = appointment.intake_answers or {}
        form = IntakeForm(
            initial={
                "contact_phone": appointment.contact_phone or patient.phone,
                "contact_email": appointment.contact_email or patient.email,
                "insurance_provider": appointment.insurance_provider,
                "insurance_member_id": appointment.insurance_member_id,
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


@login_required
@require_http_methods(["GET", "POST"])
def appointment_reschedule_page(request, pk: int):
    appointment = _own_appointment(request, pk)
    patient = appointment.patient
    zone = ZoneInfo(patient.time_zone)
    now = timezone.now()
    service = appointment.service
    practitioners = _practitioners(service, virtual=appointment.virtual)
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
        chosen = _start_or_none(request.POST.get("start"))
        week_param = None
    else:
        form = RescheduleForm(practitioners=practitioners)
        practitioner = appointment.practitioner
        if request.GET.get("practitioner"):
            practitioner = practitioners.filter(pk=_id_or_404(request.GET["practitioner"])).first()
            if practitioner is None:
                raise Http404("No such practitioner for this visit.")
        week_param = request.GET.get("week")
    changeable = _changeable(appointment, now)
    week = None
    fresh = []
    if changeable:
        if chosen is not None and start_errors:
            fresh = _fresh_slots(
                practitioner=practitioner,
                service=service,
                zone=zone,
                around=chosen,
                now=now,
                virtual=appointment.virtual,
                ignore_appointment_id=appointment.pk,
            )
        else:
            week = _week_of_slots(
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
            "days": _without_current_time(fresh or (week.days if week else []), appointment, practitioner),
            "previous_url": f"?{urlencode({**base_query, 'week': week.previous.isoformat()})}" if week and week.previous else "",
            "next_url": f"?{urlencode({**base_query, 'week': week.next.isoformat()})}" if week and week.next else "",
            "start_errors": start_errors,
            "changeable": changeable,
            "deadline": _notice_deadline(appointment),
            "clinic_phone": _clinic_phone(appointment),
            "tz": patient.time_zone,
        },
    )


@login_required
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


@login_required
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


@login_required
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
