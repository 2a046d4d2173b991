"""Booking runs service → practitioner → free time (a week at a time) → confirmation; the
service's refusals (a time just taken) are shown beside the field with fresh times to choose from."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.auth import login_required_landing
from core.forms import form_errors_from_service
from core.ids import id_or_404
from patients.selectors import patient_for_portal_user

from ..availability import slot_find
from ..forms import (
    MODE_IN_PERSON,
    MODE_VIRTUAL,
    BookingConfirmForm,
    PractitionerFilterForm,
    mode_to_virtual,
    parse_slot_start,
)
from ..models import Appointment, BookingChannel, Practitioner, Service
from ..selectors import services_bookable
from ..services import appointment_book
from .common import (
    ANY_PRACTITIONER,
    fresh_slots,
    practitioners_for,
    slot_value,
    start_or_none,
    week_of_slots,
    week_of_slots_any,
)


def _service_or_404(service_id) -> Service:
    service = services_bookable().filter(pk=id_or_404(service_id)).first()
    if service is None:
        raise Http404("No such service.")
    return service


def _practitioner_or_404(service: Service, value) -> Practitioner:
    practitioner = practitioners_for(service).filter(pk=id_or_404(value)).first()
    if practitioner is None:
        raise Http404("No such practitioner for this service.")
    return practitioner


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


@login_required_landing()
def book_service(request):
    patient = patient_for_portal_user(user=request.user)
    return render(request, "scheduling/book_service.html", {"patient": patient, "services": list(services_bookable())})


@login_required_landing("scheduling:book")
def book_practitioner(request, service_id: int):
    patient = patient_for_portal_user(user=request.user)
    service = _service_or_404(service_id)
    form = PractitionerFilterForm(request.GET or None)
    mode = _mode(form.cleaned_data["mode"], service) if form.is_bound and form.is_valid() else ""
    practitioners = list(practitioners_for(service, virtual=mode_to_virtual(mode)))
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
    any_query = {"practitioner": ANY_PRACTITIONER, **({"mode": mode} if mode else {})}
    any_href = f"{reverse('scheduling:book_slot', args=[service.pk])}?{urlencode(any_query)}" if len(rows) > 1 else ""
    return render(
        request,
        "scheduling/book_practitioner.html",
        {"patient": patient, "service": service, "form": form, "rows": rows, "mode": mode, "any_href": any_href},
    )


@login_required_landing("scheduling:book")
def book_slot(request, service_id: int):
    patient = patient_for_portal_user(user=request.user)
    service = _service_or_404(service_id)
    if "practitioner" not in request.GET:
        return redirect("scheduling:book_practitioner", service_id=service.pk)
    if request.GET["practitioner"] == ANY_PRACTITIONER:
        return _book_slot_any(request, patient, service)
    practitioner = _practitioner_or_404(service, request.GET["practitioner"])
    mode = _mode(request.GET.get("mode"), service)
    zone = ZoneInfo(patient.time_zone)
    confirm_url = reverse("scheduling:book_confirm", args=[service.pk])

    def href(value: str) -> str:
        query = {"practitioner": practitioner.pk, "start": value, **({"mode": mode} if mode else {})}
        return f"{confirm_url}?{urlencode(query)}"

    week = week_of_slots(
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


def _book_slot_any(request, patient, service: Service):
    """Free times with whoever is free: the patient chooses a time, the clinic the practitioner."""
    mode = _mode(request.GET.get("mode"), service)
    zone = ZoneInfo(patient.time_zone)
    confirm_url = reverse("scheduling:book_confirm", args=[service.pk])

    def href(value: str, practitioner_id: int) -> str:
        query = {"practitioner": practitioner_id, "start": value, **({"mode": mode} if mode else {})}
        return f"{confirm_url}?{urlencode(query)}"

    week = week_of_slots_any(
        practitioners=list(practitioners_for(service, virtual=mode_to_virtual(mode))),
        service=service,
        zone=zone,
        week=request.GET.get("week"),
        virtual=mode_to_virtual(mode),
        now=timezone.now(),
        href=href,
    )
    base_query = {"practitioner": ANY_PRACTITIONER, **({"mode": mode} if mode else {})}
    return render(
        request,
        "scheduling/book_slot.html",
        {
            "patient": patient,
            "service": service,
            "practitioner": None,
            "any_practitioner": True,
            "mode": mode,
            "week": week,
            "week_end": week.monday + dt.timedelta(days=6),
            "previous_url": f"?{urlencode({**base_query, 'week': week.previous.isoformat()})}" if week.previous else "",
            "next_url": f"?{urlencode({**base_query, 'week': week.next.isoformat()})}" if week.next else "",
            "tz": patient.time_zone,
        },
    )


@login_required_landing("scheduling:book")
@require_http_methods(["GET", "POST"])
def book_confirm(request, service_id: int):
    patient = patient_for_portal_user(user=request.user)
    service = _service_or_404(service_id)
    zone = ZoneInfo(patient.time_zone)
    now = timezone.now()
    practitioners = practitioners_for(service)
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
        start = start_or_none(request.POST.get("start"))  # also when the service refused it
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
        # Whichever kinds of visit the slot allows: the form below offers them.
        slot = slot_find(practitioner=practitioner, service=service, start=start, virtual=None, now=now)
        if slot is None:
            start_errors = [_("This time is no longer free. Choose another time below.")]
    fresh = []
    if practitioner is not None and slot is None:
        fresh = fresh_slots(practitioner=practitioner, service=service, zone=zone, around=start, now=now)
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
            "locked": slot is not None and now > service.online_change_deadline(slot.start),
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
