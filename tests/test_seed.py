"""The demo seed leaves a working demo: users per role, patients with facts, consents, an audit trail."""

import logging

import pytest
from django.core.management import call_command

from accounts.models import User
from audit.chain import verify_all
from consent.models import Consent
from consent.selectors import consent_is_active
from core import tasks as core_tasks
from patients.models import AccessLog, Observation, Patient


@pytest.mark.django_db
def test_seed_demo_builds_a_consistent_demo(capsys, caplog, monkeypatch, django_capture_on_commit_callbacks):
    published = []
    monkeypatch.setattr(core_tasks, "publish_now", lambda task, *args, **kw: published.append(task.name))
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", patients=6, verbosity=0)
    # The seed settles its own outbox rows: it queues no delivery task for the worker to run
    assert "notifications.tasks.outbox_deliver_batch" not in published
    out = capsys.readouterr().out
    # PDF receipts were rendered, and the PDF libraries said nothing below a warning
    assert Consent.objects.exclude(receipt_sha256="").exists()
    assert [r for r in caplog.records if r.name.split(".")[0] in ("weasyprint", "fontTools")] == []
    assert "alice@salus.example" in out and "salus-demo-2026" in out
    assert Patient.objects.count() == 6
    assert User.objects.filter(groups__name="care_manager").count() == 2
    assert Observation.objects.exists()
    paul = Patient.objects.get(user__email="paul@salus.example")
    assert consent_is_active(patient=paul, purpose="treatment")
    assert Consent.objects.exclude(receipt_sha256="").count() == Consent.objects.count() > 0
    assert AccessLog.objects.count() >= 6
    assert verify_all() == []
    from privacy.models import PrivacyRequest

    assert PrivacyRequest.objects.filter(kind="erasure", status="requested").count() == 1
    # Alice manages the even patients only.
    from patients.selectors import patients_for_user

    alice = User.objects.get(email="alice@salus.example")
    assert patients_for_user(user=alice).count() == 3

    _assert_scheduling_demo(paul)

    call_command("seed_demo", patients=6, if_empty=True, verbosity=0)
    assert Patient.objects.count() == 6


def _assert_scheduling_demo(paul):
    """A clinic, services, practitioners with Monday-to-Friday hours, visits booked through the
    service (reminders and messages with them), today's queue for Paula, free slots next week."""
    import datetime as dt

    from django.utils import timezone

    from notifications.models import OutboxItem
    from scheduling.availability import slots_free
    from scheduling.models import Appointment, AppointmentReminder, Location, Practitioner, Service
    from scheduling.selectors import practitioner_day

    assert Location.objects.filter(name="Clinique Salus Paris").exists()
    consult = Service.objects.get(code="consult")
    assert (consult.name_fr, consult.name_it, consult.duration_minutes) == ("Consultation générale", "Visita generale", 30)
    assert consult.virtual_allowed and consult.in_person_allowed
    follow_up = Service.objects.get(code="follow-up")
    assert (follow_up.duration_minutes, follow_up.virtual_allowed, follow_up.in_person_allowed) == (15, True, False)
    paula = Practitioner.objects.get(user__email="paula@salus.example")
    assert Practitioner.objects.count() == 3
    assert set(paula.weekly_hours.values_list("weekday", flat=True)) == {0, 1, 2, 3, 4}
    assert consent_is_active(patient=paul, purpose="virtual_visit")

    # Paul and Petra have visits today and in the coming days, booked through the service
    petra = Patient.objects.get(user__email="petra@salus.example")
    today = timezone.localdate()
    for patient in (paul, petra):
        visits = Appointment.objects.filter(patient=patient, status="booked")
        assert visits.filter(start__date=today).exists() and visits.filter(start__date__gt=today).exists()
    assert Appointment.objects.get(patient=paul, start__date=today).intake_complete
    queue = practitioner_day(practitioner=paula, day=today)
    assert {paul.pk, petra.pk} <= set(queue.values_list("patient_id", flat=True)) and queue.count() >= 3
    assert AppointmentReminder.objects.filter(status="pending").exists()
    confirmations = OutboxItem.objects.filter(topic="appointment.confirmation")
    assert confirmations.filter(patient_id=paul.pk).exists() and confirmations.filter(to_address="paula@salus.example").exists()
    # Yesterday's visit was held and written up: the note waits for the care manager
    held = Appointment.objects.get(status="fulfilled")
    assert held.visit_note is not None
    assert OutboxItem.objects.filter(topic="appointment.note_written").exists()
    manager = held.patient.care_team.get(role="care_manager").user
    assert OutboxItem.objects.filter(
        topic="staff.notification",
        channel="in_app",
        recipient_user=manager,
        dedupe_key__startswith=f"note-created:{held.visit_note_id}:",
    ).exists()
    # The past is settled as a real history would have left it: nothing waits for the worker,
    # the care manager has the note's notification in the app, and no email went out now
    from django.core import mail

    from notifications.models import Notification
    from notifications.selectors import outbox_due_ids

    assert outbox_due_ids() == []
    assert Notification.objects.filter(
        user=manager, source__dedupe_key__startswith=f"note-created:{held.visit_note_id}:"
    ).exists()
    assert mail.outbox == []

    # Patients find free slots with Paula next week
    monday = today + dt.timedelta(days=7 - today.weekday())
    week = [timezone.make_aware(dt.datetime.combine(monday + dt.timedelta(days=d), dt.time(0))) for d in (0, 7)]
    assert slots_free(practitioner=paula, service=consult, start=week[0], end=week[1], enforce_booking_window=True)
