"""Booking, moving, cancelling, intake, reminders and the visit note, through the services the
portal, admin and API share."""

import datetime as dt
from functools import partial

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from consent.models import ConsentMethod, Purpose
from consent.services import consent_sign, consent_withdraw
from core.actors import SystemActor
from notifications.models import Notification, OutboxItem
from notifications.services import outbox_deliver
from patients.models import ClinicalNote
from scheduling.models import Appointment, AppointmentReminder, AppointmentStatus, ReminderStatus
from scheduling.services import (
    BookingConflict,
    appointment_cancel,
    appointment_intake_submit,
    appointment_note_write,
    appointment_reschedule,
    appointment_status_set,
    looks_like_card_number,
    reminders_send_due,
)
from scheduling.video import video_access

from .conftest import at, book

# Booked as from the portal.
_book = partial(book, channel="portal")


def _text(content) -> str:
    return content.decode() if isinstance(content, bytes) else content


def _deliver_all():
    for pk in OutboxItem.objects.filter(status="pending").values_list("pk", flat=True):
        outbox_deliver(actor=SystemActor("outbox delivery"), item_id=pk)


def test_patient_books_a_free_slot_and_both_parties_get_an_invitation(patient_paul, paul, practitioner_paula, service, monday):
    # Given Paula's free Monday morning, when Paul books 09:30 by video
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9, 30))
    # then the visit holds 09:30-10:00 and has a video room
    assert appt.status == AppointmentStatus.BOOKED
    assert appt.end - appt.start == dt.timedelta(minutes=30)
    assert appt.video_room and len(appt.video_room) > 30
    # and, once delivered, Paul (in French) and Paula each get an email with an iCalendar invitation
    _deliver_all()
    by_to = {m.to[0]: m for m in mail.outbox}
    assert set(by_to) == {"paul@example.org", "paula@salus.test"}
    to_paul = by_to["paul@example.org"]
    assert "est réservé" in to_paul.subject
    (name, ics, mimetype) = to_paul.attachments[0]
    assert name == "invite.ics" and "method=REQUEST" in mimetype
    text = _text(ics)
    assert "BEGIN:VEVENT" in text and f"UID:appointment-{appt.pk}@" in text
    assert "ATTENDEE" in text, text
    assert "mailto:paul@example.org" in text.replace("\r\n ", ""), text
    assert "paula@salus.test" not in text
    # the practitioner's copy names the patient by MRN only
    assert "MRN-PAUL" in by_to["paula@salus.test"].body and "Lefèvre" not in by_to["paula@salus.test"].body
    # and two reminder rows wait in the database (a day and an hour before)
    assert sorted(appt.reminders.values_list("offset_minutes", flat=True)) == [60, 1440]


def test_a_taken_slot_is_a_clean_conflict(patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday):
    _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    with pytest.raises(BookingConflict) as err:
        _book(patient_petra, petra, practitioner_paula, service, at(monday, 9))
    assert "start" in err.value.message_dict
    assert Appointment.objects.count() == 1


def test_a_patient_cannot_be_in_two_places_at_once(patient_paul, paul, practitioner_paula, practitioner_piet, service, monday):
    _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    with pytest.raises(BookingConflict) as err:
        _book(patient_paul, paul, practitioner_piet, service, at(monday, 9, 0))
    assert "another visit" in str(err.value.message_dict["start"][0]) or "autre" in str(err.value.message_dict["start"][0])


def test_the_database_refuses_an_overlap_the_service_did_not_see(
    paul, petra, practitioner_paula, service, monday, front_desk_fay
):
    # Given one booking, when a second row for the same time is written behind the services' back
    first = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 9))
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            patient=petra,
            practitioner=practitioner_paula,
            service=service,
            start=first.start + dt.timedelta(minutes=10),
            end=first.end + dt.timedelta(minutes=10),
            virtual=True,
            booked_by=front_desk_fay,
            booked_via="admin",
        )
    # a cancelled visit frees its time
    appointment_cancel(actor=front_desk_fay, appointment=first)
    book(front_desk_fay, petra, practitioner_paula, service, at(monday, 9))


@pytest.mark.parametrize(
    ("hour", "minute", "virtual", "field"),
    [
        (8, 30, True, "start"),  # before opening
        (12, 0, True, "start"),  # lunch
        (9, 10, True, "start"),  # not on the slot grid
        (9, 0, False, "virtual"),  # mornings are video only
    ],
)
def test_times_nobody_offers_are_refused_by_field(
    patient_paul, paul, practitioner_paula, service, monday, hour, minute, virtual, field
):
    with pytest.raises(ValidationError) as err:
        _book(patient_paul, paul, practitioner_paula, service, at(monday, hour, minute), virtual=virtual)
    assert field in err.value.message_dict
    assert not Appointment.objects.exists()


def test_patients_keep_to_the_booking_window_the_front_desk_does_not(
    patient_paul, paul, front_desk_fay, practitioner_paula, service, monday
):
    far = monday + dt.timedelta(weeks=10)
    with pytest.raises(ValidationError) as err:
        _book(patient_paul, paul, practitioner_paula, service, at(far, 9))
    assert "60" in str(err.value.message_dict["start"][0])
    appt = book(front_desk_fay, paul, practitioner_paula, service, at(far, 9))
    assert appt.booked_via == "admin"


def test_naive_times_are_refused(patient_paul, paul, practitioner_paula, service, monday):
    with pytest.raises(ValidationError) as err:
        _book(patient_paul, paul, practitioner_paula, service, dt.datetime.combine(monday, dt.time(9)))
    assert "start" in err.value.message_dict


def test_nobody_books_for_a_patient_they_may_not(patient_petra, paul, outreach_olga, practitioner_paula, service, monday):
    for actor in (patient_petra, outreach_olga):
        with pytest.raises(PermissionDenied):
            _book(actor, paul, practitioner_paula, service, at(monday, 9))


def test_reschedule_moves_reminders_and_tells_both(patient_paul, paul, practitioner_paula, service, monday):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    old_due = set(appt.reminders.values_list("due_at", flat=True))
    mail.outbox.clear()
    OutboxItem.objects.update(status="done")
    moved = appointment_reschedule(actor=patient_paul, appointment=appt, start=at(monday, 10))
    assert moved.start == at(monday, 10) and moved.sequence == 1
    pending = set(moved.reminders.filter(status=ReminderStatus.PENDING).values_list("due_at", flat=True))
    assert pending and not (pending & old_due)
    _deliver_all()
    assert {m.to[0] for m in mail.outbox} == {"paul@example.org", "paula@salus.test"}
    assert "SEQUENCE:1" in _text(mail.outbox[0].attachments[0][1])
    # the old time is free again
    assert _book(patient_paul, paul, practitioner_paula, service, at(monday + dt.timedelta(days=1), 9)).pk


def test_patient_cannot_cancel_late_front_desk_can(patient_paul, paul, front_desk_fay, practitioner_paula, service, monday):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    late = at(monday, 8)  # an hour before, inside the 24-hour notice
    with pytest.raises(ValidationError) as err:
        appointment_cancel(actor=patient_paul, appointment=appt, now=late)
    assert "start" in err.value.message_dict
    cancelled = appointment_cancel(actor=front_desk_fay, appointment=appt, reason="Patient called", now=late)
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert not cancelled.reminders.filter(status=ReminderStatus.PENDING).exists()
    _deliver_all()
    invite = [m for m in mail.outbox if m.to == ["paul@example.org"]][-1]
    assert "METHOD:CANCEL" in _text(invite.attachments[0][1])


def test_reminders_are_sent_once_when_the_task_runs_twice(patient_paul, paul, practitioner_paula, service, monday):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    OutboxItem.objects.update(status="done")
    day_before = at(monday, 9) - dt.timedelta(hours=23)
    # When the periodic task runs twice (or two workers run it at once) a day ahead,
    assert reminders_send_due(actor=SystemActor("appointment reminders"), now=day_before) == 1
    assert reminders_send_due(actor=SystemActor("appointment reminders"), now=day_before) == 0
    # then exactly one reminder message was queued, and the hour-before one still waits
    reminders = OutboxItem.objects.filter(topic="appointment.reminder")
    assert reminders.count() == 1
    assert appt.reminders.get(offset_minutes=60).status == ReminderStatus.PENDING
    _deliver_all()
    assert len(mail.outbox) == 1 and "Rappel" in mail.outbox[0].subject


def test_reminders_of_a_cancelled_visit_are_not_sent(patient_paul, paul, practitioner_paula, service, monday, front_desk_fay):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    appointment_cancel(actor=front_desk_fay, appointment=appt)
    assert reminders_send_due(actor=SystemActor("appointment reminders"), now=at(monday, 8, 30)) == 0
    assert not OutboxItem.objects.filter(topic="appointment.reminder").exists()


def test_video_link_needs_consent_and_intake(
    patient_paul, paul, practitioner_paula, provider_paula, care_manager_alice, service, monday, virtual_visit_v1
):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    # Without consent or intake the link is withheld, and the patient is told both steps
    access = video_access(user=patient_paul, appointment=appt)
    assert access.url is None and access.needs_consent and access.needs_intake
    appointment_intake_submit(
        actor=patient_paul, appointment=appt, contact_phone="+33 6 00 00 00 00", contact_email="paul@example.org"
    )
    appt.refresh_from_db()
    access = video_access(user=patient_paul, appointment=appt)
    assert access.url is None and access.needs_consent and not access.needs_intake
    consent = consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method=ConsentMethod.PORTAL, signer_name="Paul Lefèvre"
    )
    access = video_access(user=patient_paul, appointment=appt)
    assert access.url == f"https://meet.jit.si/{appt.video_room}"
    # the practitioner gets it too; the care manager who sees the visit does not
    assert video_access(user=provider_paula, appointment=appt).url == access.url
    assert video_access(user=care_manager_alice, appointment=appt).url is None
    # a withdrawal takes effect at once
    consent_withdraw(actor=patient_paul, consent=consent)
    assert video_access(user=patient_paul, appointment=appt).url is None


def test_intake_refuses_card_numbers(patient_paul, paul, practitioner_paula, service, monday):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    with pytest.raises(ValidationError) as err:
        appointment_intake_submit(
            actor=patient_paul, appointment=appt, contact_phone="+33 6", contact_email="", payment_reference="4111 1111 1111 1111"
        )
    assert "payment_reference" in err.value.message_dict
    appt.refresh_from_db()
    assert appt.intake_completed_at is None and appt.payment_reference == ""
    assert looks_like_card_number("4111-1111-1111-1111") and not looks_like_card_number("PAY-2026-000123")


def test_visit_note_reaches_the_care_manager(
    patient_paul, paul, provider_paula, care_manager_alice, practitioner_paula, service, monday
):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    appointment_status_set(actor=provider_paula, appointment=appt, status="arrived")
    note = appointment_note_write(actor=provider_paula, appointment=appt, text="Stable. Continue metformin.")
    appointment_status_set(actor=provider_paula, appointment=appt, status="fulfilled")
    appt.refresh_from_db()
    assert appt.visit_note_id == note.pk and appt.status == AppointmentStatus.FULFILLED
    _deliver_all()
    assert Notification.objects.filter(user=care_manager_alice, link__contains=str(note.pk)).exists()
    assert any(m.to == [care_manager_alice.email] for m in mail.outbox)
    assert ClinicalNote.objects.get(pk=note.pk).reviewed_at is None


def test_only_the_practitioner_runs_the_visit(
    patient_paul, paul, provider_piet, practitioner_piet, practitioner_paula, care_manager_alice, service, monday
):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    for actor in (provider_piet, care_manager_alice, patient_paul):
        with pytest.raises(PermissionDenied):
            appointment_note_write(actor=actor, appointment=appt, text="x")
        with pytest.raises(PermissionDenied):
            appointment_status_set(actor=actor, appointment=appt, status="fulfilled")


def test_no_show_only_after_the_start(patient_paul, paul, provider_paula, practitioner_paula, service, monday):
    appt = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    with pytest.raises(ValidationError):
        appointment_status_set(actor=provider_paula, appointment=appt, status="noshow", now=at(monday, 8))
    appointment_status_set(actor=provider_paula, appointment=appt, status="noshow", now=at(monday, 9, 20))
    assert AppointmentReminder.objects.filter(appointment=appt, status="pending").count() == 0
