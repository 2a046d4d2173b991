"""iCalendar (RFC 5545) invitations for appointments, built with the `icalendar` library.

One UID per appointment and a SEQUENCE raised on every move or cancellation, so calendar clients
update or remove the event they already hold instead of adding a second one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from patients.selectors import patient_email_recipient


def _domain() -> str:
    return urlsplit(settings.SALUS_SITE_URL).hostname or "salus.local"


def _site_url(path: str) -> str:
    return f"{settings.SALUS_SITE_URL.rstrip('/')}{path}"


def appointment_uid(appointment) -> str:
    return f"appointment-{appointment.pk}@{_domain()}"


def appointment_ics(appointment, *, method: str = "REQUEST", for_practitioner: bool = False) -> bytes:
    """The invitation for one party. The patient's copy names the practitioner and service; the
    practitioner's names the patient by MRN only. Neither carries the reason for the visit."""
    cal = Calendar()
    cal.add("prodid", f"-//{settings.SALUS_SITE_NAME}//Salus scheduling//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    service = appointment.service.name
    if for_practitioner:
        summary = _("%(service)s – patient %(mrn)s") % {"service": service, "mrn": appointment.patient.mrn}
    else:
        summary = _("%(service)s with %(practitioner)s") % {
            "service": service,
            "practitioner": appointment.practitioner.display_name,
        }
    event.add("summary", summary)
    if appointment.virtual:
        event.add("location", vText(_("Video visit")))
        event.add(
            "description",
            _("Join from your appointment page: %(url)s")
            % {"url": _site_url(reverse("scheduling:appointment", args=[appointment.pk]))}
            if not for_practitioner
            else _("Start the visit from today's queue: %(url)s") % {"url": _site_url(reverse("admin:scheduling_queue"))},
        )
    elif appointment.location is not None:
        place = appointment.location.name
        if appointment.location.address:
            place = f"{place}, {appointment.location.address}"
        event.add("location", vText(place))
    organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL.split('<')[-1].rstrip('>')}")
    organizer.params["cn"] = vText(settings.SALUS_SITE_NAME)
    event.add("organizer", organizer)
    # The recipient as the one attendee (calendar clients expect one on a REQUEST); the other
    # party is not listed, so neither copy carries the other's address.
    if for_practitioner:
        address, name = appointment.practitioner.user.email, appointment.practitioner.display_name
    else:
        patient = appointment.patient
        address, _user = patient_email_recipient(patient)
        name = f"{patient.given_name} {patient.family_name}"
    if address:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        event.add("attendee", attendee)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()
