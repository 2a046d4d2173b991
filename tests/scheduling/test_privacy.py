"""Appointments in a patient's data export, and what an erasure does to them."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from core.files import private_file_path
from notifications.models import OutboxItem
from privacy import tasks
from privacy.services import export_sections, privacy_erasure_request, privacy_export_request, privacy_request_decide
from scheduling.models import Appointment, AppointmentStatus, ReminderStatus
from scheduling.services import appointment_intake_submit, appointment_status_set

from ..privacy.test_privacy import pdf_text
from .conftest import at, book

pytestmark = pytest.mark.django_db

INTAKE = {
    "contact_phone": "+33 6 98 76 54 32",
    "contact_email": "paul.visit@example.org",
    "insurance_provider": "Mutuelle Bleue",
    "insurance_member_id": "MB-445566",
    "payment_reference": "PAY-REF-7781",
    "answers": {"symptoms": "Dizzy spells in the morning", "medications": "Metformin"},
}


@pytest.fixture
def pauls_visits(paul, patient_paul, petra, practitioner_paula, provider_paula, front_desk_fay, service, monday):
    """Paul's fulfilled visit last week, his coming visit with intake done, and Petra's coming visit."""
    today = timezone.localdate()
    last_monday = today - dt.timedelta(days=today.weekday() + 7)
    past = book(front_desk_fay, paul, practitioner_paula, service, at(last_monday, 9), now=at(last_monday, 8), reason="Knee pain")
    appointment_status_set(actor=provider_paula, appointment=past, status=AppointmentStatus.FULFILLED, now=at(last_monday, 9, 30))
    coming = book(
        patient_paul, paul, practitioner_paula, service, at(monday, 9), reason="Dizziness after the new pills", channel="portal"
    )
    appointment_intake_submit(actor=patient_paul, appointment=coming, **INTAKE)
    petras = book(front_desk_fay, petra, practitioner_paula, service, at(monday, 10), reason="Petra's back pain")
    return past, coming, petras


# --- the export -------------------------------------------------------------------------------


def test_the_appointments_section_is_registered():
    assert "appointments" in {section.key for section in export_sections()}


def test_export_holds_pauls_visits_with_their_intake_and_never_the_video_room(pauls_visits, paul, patient_paul):
    past, coming, _petras = pauls_visits

    # When Paul asks for his data and the task builds it
    request = privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
    assert tasks.privacy_export_build.apply(args=[request.pk]).get() is True
    request.refresh_from_db()

    # Then the JSON lists his two visits, oldest first, with what he told us for them
    raw = private_file_path(request.json_path).read_text(encoding="utf-8")
    visits = json.loads(raw)["sections"]["appointments"]
    assert [v["id"] for v in visits] == [past.pk, coming.pk]
    first, second = visits
    assert (first["status"], first["reason"], first["virtual"]) == ("fulfilled", "Knee pain", True)
    assert second["status"] == "booked"
    assert second["service"] == "Consultation générale"  # in Paul's language
    assert second["practitioner"] == "Dr Paula Test"
    assert second["reason"] == "Dizziness after the new pills"
    assert second["intake_answers"] == INTAKE["answers"]
    for field in ("contact_phone", "contact_email", "insurance_provider", "insurance_member_id", "payment_reference"):
        assert second[field] == INTAKE[field]
    assert second["booked_via"] == "portal" and second["booked_at"] and second["intake_completed_at"]
    assert dt.datetime.fromisoformat(second["start"]) == coming.start
    # And neither the video room nor anything of Petra's is in it
    assert coming.video_room and coming.video_room not in raw and "video_room" not in raw
    assert "Petra" not in raw
    # And the readable PDF has the section
    pdf = pdf_text(private_file_path(request.pdf_path).read_bytes())
    assert "Dizziness after the new pills" in pdf and "Dr Paula Test" in pdf
    assert coming.video_room not in pdf


# --- erasure ----------------------------------------------------------------------------------

ERASED = ("reason", "intake_answers", "contact_phone", "contact_email", "insurance_provider", "insurance_member_id")


def _erase(patient, *, patient_user, admin):
    erasure = privacy_erasure_request(actor=patient_user, patient=patient, channel="portal", reason="Please forget me")
    privacy_request_decide(actor=admin, request=erasure, approve=True, note="Identity checked.")
    assert tasks.privacy_erase_run(erasure.pk) is True


def test_erasure_cancels_coming_visits_silently_and_blanks_every_visit_and_version(pauls_visits, paul, patient_paul, admin_ada):
    past, coming, petras = pauls_visits
    assert coming.reminders.filter(status=ReminderStatus.PENDING).count() == 2
    notices_before = OutboxItem.objects.filter(topic__startswith="appointment.", kind="message").count()

    # When an administrator approves Paul's erasure and the task carries it out
    _erase(paul, patient_user=patient_paul, admin=admin_ada)

    # Then his coming visit is cancelled, by the administrator, its reminders with it
    coming.refresh_from_db()
    assert coming.status == AppointmentStatus.CANCELLED
    assert coming.cancelled_by == admin_ada and coming.cancelled_at is not None
    assert not coming.reminders.filter(status=ReminderStatus.PENDING).exists()
    # and nobody was told: no new message about an appointment
    assert OutboxItem.objects.filter(topic__startswith="appointment.", kind="message").count() == notices_before
    assert not OutboxItem.objects.filter(topic="appointment.cancelled").exists()
    # The past visit stays what it was
    past.refresh_from_db()
    assert (past.status, past.start) == (AppointmentStatus.FULFILLED, pauls_visits[0].start)
    # And what he gave for any visit is blank, in every stored version too
    for row in (
        *Appointment.objects.filter(patient=paul).values(*ERASED, "payment_reference"),
        *Appointment.history.filter(patient_id=paul.pk).values(*ERASED, "payment_reference"),
    ):
        assert row == {**dict.fromkeys(ERASED, ""), "intake_answers": {}, "payment_reference": ""}
    assert Appointment.history.filter(patient_id=paul.pk).count() >= 4  # versions kept, rewritten
    # While Petra's visit is untouched
    petras.refresh_from_db()
    assert (petras.status, petras.reason) == (AppointmentStatus.BOOKED, "Petra's back pain")
    assert petras.reminders.filter(status=ReminderStatus.PENDING).count() == 2


def test_the_freed_slot_can_be_booked_again(pauls_visits, paul, patient_paul, admin_ada, petra, front_desk_fay):
    _past, coming, _petras = pauls_visits
    _erase(paul, patient_user=patient_paul, admin=admin_ada)
    again = book(front_desk_fay, petra, coming.practitioner, coming.service, coming.start)
    assert again.start == coming.start and again.status == AppointmentStatus.BOOKED
