"""What patients and practitioners are told about their appointments, in their own language and
time zone, with an iCalendar invitation (REQUEST on booking and moves, CANCEL on cancellation).

Every message goes through the outbox under a key naming the logical send (appointment, revision,
recipient), so a retried transaction or a second task run never sends it twice. Messages say what,
when, where and with whom; the reason for the visit and intake answers never leave the database.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from notifications.models import OutboxChannel
from notifications.services import outbox_message_enqueue
from patients.selectors import patient_email_recipient

from .ics import appointment_ics


def _site() -> str:
    return settings.SALUS_SITE_URL.rstrip("/")


def _when(value: dt.datetime, time_zone: str) -> str:
    local = value.astimezone(ZoneInfo(time_zone))
    return f"{formats.date_format(local, 'l j F Y')}, {formats.time_format(local, 'H:i')} ({time_zone})"


def _where(appointment) -> str:
    if appointment.virtual:
        return _("Video visit: join from your appointment page in the portal.")
    location = appointment.location
    return f"{location.name}, {location.address}" if location.address else location.name


def _patient_link(appointment) -> str:
    return f"{_site()}{reverse('scheduling:appointment', args=[appointment.pk])}"


def _staff_link(appointment) -> str:
    return f"{_site()}{reverse('admin:scheduling_appointment_change', args=[appointment.pk])}"


def _to_patient(appointment, *, topic: str, subject, body, key: str, method: str, channel_hint: bool = False) -> None:
    patient = appointment.patient
    address, user = patient_email_recipient(patient)
    with translation.override(patient.preferred_language):
        if channel_hint and patient.preferred_channel == "sms" and patient.phone:
            outbox_message_enqueue(
                channel=OutboxChannel.SMS,
                topic=topic,
                to_address=patient.phone,
                patient_id=patient.pk,
                text=subject(),
                dedupe_key=f"{key}:patient:sms",
            )
            return
        if not address:
            return
        ics = appointment_ics(appointment, method=method, for_practitioner=False)
        outbox_message_enqueue(
            channel=OutboxChannel.EMAIL,
            topic=topic,
            to_address=address,
            recipient_user=user,
            patient_id=patient.pk,
            subject=subject(),
            text=body(),
            link=_patient_link(appointment),
            attachments=[("invite.ics", ics, f"text/calendar; method={method}; charset=utf-8")],
            dedupe_key=f"{key}:patient",
        )


def _to_practitioner(appointment, *, topic: str, subject, body, key: str, method: str) -> None:
    user = appointment.practitioner.user
    if not user.email or not user.is_active:
        return
    with translation.override(user.preferred_language or "en"):
        ics = appointment_ics(appointment, method=method, for_practitioner=True)
        outbox_message_enqueue(
            channel=OutboxChannel.EMAIL,
            topic=topic,
            to_address=user.email,
            recipient_user=user,
            subject=subject(),
            text=body(),
            link=_staff_link(appointment),
            attachments=[("invite.ics", ics, f"text/calendar; method={method}; charset=utf-8")],
            dedupe_key=f"{key}:practitioner",
        )


def _patient_facts(appointment) -> dict:
    return {
        "service": appointment.service.name,
        "practitioner": appointment.practitioner.display_name,
        "when": _when(appointment.start, appointment.patient.time_zone),
        "where": _where(appointment),
        "link": _patient_link(appointment),
    }


def _staff_facts(appointment) -> dict:
    # The MRN identifies the patient for the practitioner without putting a name in an email.
    user = appointment.practitioner.user
    return {
        "service": appointment.service.name,
        "mrn": appointment.patient.mrn,
        "when": _when(appointment.start, appointment.practitioner.time_zone or user.time_zone),
        "mode": _("video") if appointment.virtual else (appointment.location.name if appointment.location else ""),
        "link": _staff_link(appointment),
    }


def appointment_confirmation_enqueue(appointment) -> None:
    key = f"appointment:{appointment.pk}:booked:{appointment.sequence}"
    virtual_steps = lambda: (  # noqa: E731
        "\n\n"
        + _(
            "Before the visit, complete the intake and sign the virtual-visit consent from your appointment page; the video link appears there once both are done."
        )
        if appointment.virtual
        else ""
    )
    _to_patient(
        appointment,
        topic="appointment.confirmation",
        subject=lambda: _("Your visit on %(when)s is booked") % _patient_facts(appointment),
        body=lambda: (
            _(
                "Your visit is booked.\n\nWhat: %(service)s\nWith: %(practitioner)s\nWhen: %(when)s\nWhere: %(where)s\n\nSee, move or cancel it: %(link)s"
            )
            % _patient_facts(appointment)
            + virtual_steps()
        ),
        key=key,
        method="REQUEST",
    )
    _to_practitioner(
        appointment,
        topic="appointment.confirmation",
        subject=lambda: _("New visit: %(when)s") % _staff_facts(appointment),
        body=lambda: (
            _("A visit was booked with you.\n\nWhat: %(service)s (%(mode)s)\nPatient: MRN %(mrn)s\nWhen: %(when)s\n\n%(link)s")
            % _staff_facts(appointment)
        ),
        key=key,
        method="REQUEST",
    )


def appointment_rescheduled_enqueue(appointment, *, previous_start: dt.datetime) -> None:
    key = f"appointment:{appointment.pk}:moved:{appointment.sequence}"

    def before(tz):
        return _when(previous_start, tz)

    _to_patient(
        appointment,
        topic="appointment.rescheduled",
        subject=lambda: _("Your visit has moved to %(when)s") % _patient_facts(appointment),
        body=lambda: (
            _(
                "Your visit has moved.\n\nWas: %(before)s\nNow: %(when)s\nWhat: %(service)s\nWith: %(practitioner)s\nWhere: %(where)s\n\n%(link)s"
            )
            % {**_patient_facts(appointment), "before": before(appointment.patient.time_zone)}
        ),
        key=key,
        method="REQUEST",
    )
    _to_practitioner(
        appointment,
        topic="appointment.rescheduled",
        subject=lambda: _("Visit moved: %(when)s") % _staff_facts(appointment),
        body=lambda: (
            _("A visit with you has moved.\n\nWhat: %(service)s (%(mode)s)\nPatient: MRN %(mrn)s\nNow: %(when)s\n\n%(link)s")
            % _staff_facts(appointment)
        ),
        key=key,
        method="REQUEST",
    )


def appointment_cancelled_enqueue(appointment) -> None:
    key = f"appointment:{appointment.pk}:cancelled"
    _to_patient(
        appointment,
        topic="appointment.cancelled",
        subject=lambda: _("Your visit on %(when)s is cancelled") % _patient_facts(appointment),
        body=lambda: (
            _(
                "Your visit is cancelled.\n\nWhat: %(service)s\nWith: %(practitioner)s\nWhen: %(when)s\n\nBook another visit: %(book)s"
            )
            % {**_patient_facts(appointment), "book": f"{_site()}{reverse('scheduling:book')}"}
        ),
        key=key,
        method="CANCEL",
    )
    _to_practitioner(
        appointment,
        topic="appointment.cancelled",
        subject=lambda: _("Visit cancelled: %(when)s") % _staff_facts(appointment),
        body=lambda: (
            _("A visit with you is cancelled.\n\nWhat: %(service)s (%(mode)s)\nPatient: MRN %(mrn)s\nWhen: %(when)s")
            % _staff_facts(appointment)
        ),
        key=key,
        method="CANCEL",
    )


def _offset_label(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return translation.ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return translation.ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    return translation.ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


def appointment_reminder_enqueue(appointment, *, reminder) -> None:
    """The patient's reminder, on their preferred channel (SMS when they chose it and have a number)."""
    key = f"appointment:{appointment.pk}:reminder:{reminder.pk}"

    def facts():
        return {**_patient_facts(appointment), "in": _offset_label(reminder.offset_minutes)}

    _to_patient(
        appointment,
        topic="appointment.reminder",
        subject=lambda: _("Reminder: your visit in %(in)s, %(when)s") % facts(),
        body=lambda: (
            _(
                "A reminder of your visit.\n\nWhat: %(service)s\nWith: %(practitioner)s\nWhen: %(when)s\nWhere: %(where)s\n\n%(link)s"
            )
            % facts()
        ),
        key=key,
        method="REQUEST",
        channel_hint=True,
    )
