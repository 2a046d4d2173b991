"""No double booking under real concurrency, slots across daylight-saving changes, and reminders
sent once by a real worker: PostgreSQL's exclusion constraints, Redis, a Celery worker process, SMTP.

Threads each hold their own PostgreSQL connection (Django's connections are per thread) and are
released together by a barrier, so that their transactions overlap in the database.
"""

import datetime as dt
import itertools
import re
import threading
from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from accounts.models import User
from notifications.models import OutboxItem, OutboxStatus
from patients.models import Patient
from scheduling.availability import slots_free
from scheduling.models import (
    AppointmentReminder,
    AppointmentStatus,
    AvailabilityException,
    ExceptionKind,
    Practitioner,
    ReminderStatus,
    Service,
    WeeklyHours,
)
from scheduling.services import BookingConflict
from scheduling.tasks import reminders_send_due
from tests.factories import LocationFactory, PatientFactory, PractitionerFactory, ServiceFactory, practitioner_with_week
from tests.scheduling.conftest import book

from .support import wait_until

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
HOLDING = ("booked", "arrived", "fulfilled")
PATIENT_CONFLICT = "You already have another visit at this time."


# --- helpers -----------------------------------------------------------------------------------


def _next_monday(after: dt.date) -> dt.date:
    return after + dt.timedelta(days=7 - after.weekday())


def _last_sunday(year: int, month: int) -> dt.date:
    last = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() + 1) % 7)


def _next_change(month: int) -> dt.date:
    """The next last Sunday of `month` (a daylight-saving change in Europe) at least ten days ahead."""
    soon = timezone.localdate() + dt.timedelta(days=10)
    sunday = _last_sunday(soon.year, month)
    return sunday if sunday >= soon else _last_sunday(soon.year + 1, month)


def _book_as(actor_id: int, patient_id: int, practitioner_id: int, service_id: int, start: dt.datetime) -> Callable:
    """A booking by the front desk whose rows are loaded by the thread that runs it."""

    def prepare() -> Callable[[], object]:
        actor = User.objects.get(pk=actor_id)
        patient = Patient.objects.get(pk=patient_id)
        practitioner = Practitioner.objects.get(pk=practitioner_id)
        service = Service.objects.get(pk=service_id)

        def attempt():
            return book(actor, patient, practitioner, service, start)

        return attempt

    return prepare


def _all_at_once(prepares: list[Callable[[], Callable[[], object]]]) -> list[tuple[str, object]]:
    """Run each call in its own thread, released together by a barrier once every thread has
    loaded its rows. Each outcome is ("booked", appointment id), ("conflict", messages) or
    ("error", the exception)."""
    barrier = threading.Barrier(len(prepares))
    outcomes: list = [None] * len(prepares)

    def run(i: int) -> None:
        try:
            with translation.override("en"):
                call = prepares[i]()
                barrier.wait(timeout=60)
                try:
                    outcomes[i] = ("booked", call().pk)
                except BookingConflict as exc:
                    outcomes[i] = ("conflict", exc.message_dict)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prepares))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return outcomes


def _overlapping_pairs() -> list[tuple]:
    """Pairs of holding appointments of one practitioner, or of one patient, whose times overlap."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, b.id FROM scheduling_appointment a
            JOIN scheduling_appointment b ON a.id < b.id
             AND (a.practitioner_id = b.practitioner_id OR a.patient_id = b.patient_id)
             AND tstzrange(a.start, a."end", '[)') && tstzrange(b.start, b."end", '[)')
            WHERE a.status = ANY(%s) AND b.status = ANY(%s)
            """,
            [list(HOLDING), list(HOLDING)],
        )
        return cursor.fetchall()


def _holding_rows(**where) -> int:
    from scheduling.models import Appointment

    return Appointment.objects.filter(status__in=HOLDING, **where).count()


# --- the same slot, many threads ---------------------------------------------------------------

THREADS = 50


def test_fifty_threads_on_one_slot_make_one_booking_and_forty_nine_clean_conflicts(committed_db, front_desk_fay):
    # Given Paula's free Monday morning and fifty patients
    paula = practitioner_with_week(display_name="Dr Paula Concurrency")
    service = paula.services.get()
    patients = PatientFactory.create_batch(THREADS)
    start = dt.datetime.combine(_next_monday(timezone.localdate() + dt.timedelta(days=7)), dt.time(9), tzinfo=PARIS)

    # When fifty threads book the same 09:00 slot for fifty different patients at the same moment
    outcomes = _all_at_once([_book_as(front_desk_fay.pk, p.pk, paula.pk, service.pk, start) for p in patients])

    # Then exactly one booking was made, and every other attempt is a clean conflict on the time field
    errors = [o for kind, o in outcomes if kind == "error"]
    assert errors == [], f"unexpected errors: {errors[:3]!r}"
    assert Counter(kind for kind, _ in outcomes) == {"booked": 1, "conflict": THREADS - 1}
    assert all(set(messages) == {"start"} for kind, messages in outcomes if kind == "conflict")
    [winner] = [pk for kind, pk in outcomes if kind == "booked"]
    assert _holding_rows(practitioner=paula) == 1
    assert _holding_rows(practitioner=paula, pk=winner, start=start) == 1
    # And nothing of the losing transactions was left behind: one visit's reminders and messages
    assert AppointmentReminder.objects.count() == 2
    assert OutboxItem.objects.filter(topic="appointment.confirmation").count() == 2
    assert OutboxItem.objects.filter(topic="appointment.booked").count() == 1
    # And no two holding rows overlap, checked in SQL
    assert _overlapping_pairs() == []


@pytest.mark.parametrize("practitioners", [2, 20], ids=["two-practitioners", "one-practitioner-per-thread"])
def test_one_patient_booked_with_several_practitioners_at_once_gets_one_visit(committed_db, front_desk_fay, practitioners):
    # Given one patient and practitioners who are all free on Monday at 10:00
    service = ServiceFactory()
    clinic = LocationFactory()
    team = [
        practitioner_with_week(service=service, location=clinic, display_name=f"Dr {n} Concurrency") for n in range(practitioners)
    ]
    patient = PatientFactory()
    start = dt.datetime.combine(_next_monday(timezone.localdate() + dt.timedelta(days=7)), dt.time(10), tzinfo=PARIS)

    # When twenty threads book that patient with them at the same moment
    threads = 20
    outcomes = _all_at_once(
        [_book_as(front_desk_fay.pk, patient.pk, team[i % practitioners].pk, service.pk, start) for i in range(threads)]
    )

    # Then the patient has one visit; every other attempt is a clean conflict
    errors = [o for kind, o in outcomes if kind == "error"]
    assert errors == [], f"unexpected errors: {errors[:3]!r}"
    assert Counter(kind for kind, _ in outcomes) == {"booked": 1, "conflict": threads - 1}
    assert _holding_rows(patient=patient) == 1
    if practitioners == threads:
        # Each practitioner was free: only the patient's own guard can have refused them.
        assert {messages["start"][0] for kind, messages in outcomes if kind == "conflict"} == {PATIENT_CONFLICT}
    assert _overlapping_pairs() == []


# --- daylight-saving changes ---------------------------------------------------------------------


def _local(slot_start: dt.datetime) -> str:
    return slot_start.astimezone(PARIS).strftime("%H:%M")


@pytest.mark.parametrize("month", [3, 10], ids=["march", "october"])
def test_slots_and_bookings_across_a_daylight_saving_change(db, front_desk_fay, month):
    # Given a practitioner seeing patients 09:00-12:00 Europe/Paris, Monday to Friday, by video
    service = ServiceFactory()
    practitioner = PractitionerFactory(time_zone="Europe/Paris")
    practitioner.services.add(service)
    for weekday in range(5):
        WeeklyHours.objects.create(practitioner=practitioner, weekday=weekday, start_time=dt.time(9), end_time=dt.time(12))
    change = _next_change(month)  # the last Sunday of the month: clocks move at 01:00 UTC
    before, after = change - dt.timedelta(days=6), change + dt.timedelta(days=1)
    # and a night shift from Saturday 22:00 to Sunday 06:00, local time, across the change
    saturday = change - dt.timedelta(days=1)
    # (instants in UTC: Python subtracts two datetimes of one zone as wall-clock times)
    night_start = dt.datetime.combine(saturday, dt.time(22), tzinfo=PARIS).astimezone(UTC)
    night_end = dt.datetime.combine(change, dt.time(6), tzinfo=PARIS).astimezone(UTC)
    AvailabilityException.objects.create(practitioner=practitioner, kind=ExceptionKind.EXTRA, start=night_start, end=night_end)

    def free(day_start: dt.datetime, day_end: dt.datetime):
        return slots_free(practitioner=practitioner, service=service, start=day_start, end=day_end, enforce_booking_window=False)

    def day(date: dt.date):
        midnight, next_midnight = (dt.datetime.combine(d, dt.time(0), tzinfo=PARIS) for d in (date, date + dt.timedelta(days=1)))
        return free(midnight.astimezone(UTC), next_midnight.astimezone(UTC))

    # When the slots of the Mondays before and after the change are listed
    monday_before, monday_after = day(before), day(after)

    # Then 09:00 stays 09:00 local: 08:00Z in winter time, 07:00Z in summer time
    winter, summer = dt.time(8), dt.time(7)
    first_before, first_after = (summer, winter) if month == 10 else (winter, summer)
    assert monday_before[0].start.astimezone(UTC).time() == first_before
    assert monday_after[0].start.astimezone(UTC).time() == first_after
    for slots in (monday_before, monday_after):
        assert [_local(s.start) for s in slots] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]

    # And the night shift has as many 30-minute slots as it has real half hours: 7 h in March, 9 h in October
    night = free(night_start, night_end)
    assert night_end - night_start == dt.timedelta(hours=7 if month == 3 else 9)
    assert len(night) == (14 if month == 3 else 18)
    assert all(s.end - s.start == dt.timedelta(minutes=30) for s in night)
    assert all(a.end == b.start for a, b in itertools.pairwise(night))
    evening = ["22:00", "22:30", "23:00", "23:30", "00:00", "00:30", "01:00", "01:30"]
    if month == 3:  # 02:00-03:00 does not exist that night
        expected = [*evening, "03:00", "03:30", "04:00", "04:30", "05:00", "05:30"]
    else:  # 02:00-03:00 happens twice
        expected = [*evening, "02:00", "02:30", "02:00", "02:30", "03:00", "03:30", "04:00", "04:30", "05:00", "05:30"]
    assert [_local(s.start) for s in night] == expected

    # When the slot that spans the change and the Monday-after 09:00 are booked and read back
    patient = PatientFactory()
    across = next(s for s in night if s.start == dt.datetime.combine(change, dt.time(0, 30), tzinfo=UTC))
    with transaction.atomic():
        booked = [book(front_desk_fay, patient, practitioner, service, slot.start) for slot in (across, monday_after[0])]
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT to_char(start AT TIME ZONE 'Europe/Paris', 'HH24:MI'), to_char("end" AT TIME ZONE 'Europe/Paris', 'HH24:MI'),
                      extract(epoch FROM "end" - start)::int
               FROM scheduling_appointment WHERE id = ANY(%s) ORDER BY start""",
            [[a.pk for a in booked]],
        )
        stored = cursor.fetchall()

    # Then PostgreSQL holds them at the right instants: the night slot lasts 30 real minutes across
    # the change (01:30 → 03:00 in March; the first 02:30 → the second 02:00 in October)
    night_slot = ("01:30", "03:00", 1800) if month == 3 else ("02:30", "02:00", 1800)
    assert stored == [night_slot, ("09:00", "09:30", 1800)]
    assert {a.status for a in booked} == {AppointmentStatus.BOOKED}
    # And they are no longer offered
    assert across not in free(night_start, night_end) and monday_after[0] not in day(after)


# --- reminders through a real worker ---------------------------------------------------------------

REMINDERS = "scheduling.tasks.reminders_send_due"


def _task_results(worker, task_name: str) -> list[str]:
    return re.findall(rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded in [\d.]+s: (\S+)", worker.log())


def test_reminder_task_run_twice_through_the_broker_emails_once(front_desk_fay, start_worker, smtp_server):
    # Given a visit in three hours, booked two days ago: its day-before reminder is due now,
    # its hour-before reminder is not
    service = ServiceFactory()
    practitioner = PractitionerFactory()
    practitioner.services.add(service)
    now = timezone.now()
    block_start = (now + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    AvailabilityException.objects.create(
        practitioner=practitioner, kind=ExceptionKind.EXTRA, start=block_start, end=block_start + dt.timedelta(hours=2)
    )
    patient = PatientFactory(email="rita@example.org", preferred_language="en", preferred_channel="email")
    with transaction.atomic():
        appointment = book(front_desk_fay, patient, practitioner, service, block_start, now=now - dt.timedelta(days=2))
    day_before = AppointmentReminder.objects.get(appointment=appointment, offset_minutes=1440)
    hour_before = AppointmentReminder.objects.get(appointment=appointment, offset_minutes=60)
    assert day_before.due_at <= timezone.now() < hour_before.due_at

    # When the periodic task is published twice before a two-process worker takes both runs
    reminders_send_due.apply_async()
    reminders_send_due.apply_async()
    worker = start_worker(pool="prefork", concurrency=2)
    wait_until(lambda: worker.tasks_succeeded(REMINDERS) == 2, what="both reminder runs", details=worker.details)
    wait_until(
        lambda: (
            not OutboxItem.objects.exclude(status=OutboxStatus.DONE).exists()
            and OutboxItem.objects.filter(topic="appointment.reminder").exists()
        ),
        what="every outbox row to be delivered",
        details=worker.details,
    )

    # Then one run sent the reminder and the other found nothing to do
    assert sorted(_task_results(worker, REMINDERS)) == ["0", "1"]
    # And the SMTP server received exactly one reminder (beside the booking confirmation)
    to_patient = smtp_server.sink.messages_to("rita@example.org")
    subjects = [m["Subject"] for m in to_patient]
    assert len([s for s in subjects if s.startswith("Reminder: your visit in 1 day")]) == 1
    assert len(subjects) == 2 and any(s.endswith("is booked") for s in subjects)
    assert OutboxItem.objects.filter(topic="appointment.reminder").count() == 1
    day_before.refresh_from_db()
    hour_before.refresh_from_db()
    assert (day_before.status, hour_before.status) == (ReminderStatus.SENT, ReminderStatus.PENDING)
