"""Free slots: weekly hours in the practitioner's time zone, plus extra hours, minus time off and
bookings; correct across daylight-saving changes."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduling.availability import local_instant, slots_free
from scheduling.models import AvailabilityException, WeeklyHours
from scheduling.services import appointment_book
from tests.factories import PractitionerFactory, ServiceFactory

from .conftest import PARIS, at

UTC = dt.UTC
# Daylight-saving changes in Europe/Paris: 2027-03-28 (02:00 → 03:00) and 2027-10-31 (03:00 → 02:00).
SPRING = dt.date(2027, 3, 28)
AUTUMN = dt.date(2027, 10, 31)
LONG_BEFORE = dt.datetime(2027, 1, 1, tzinfo=UTC)


def _free(practitioner, service, first: dt.date, last: dt.date, **kw):
    return slots_free(
        practitioner=practitioner,
        service=service,
        start=at(first, 0),
        end=at(last + dt.timedelta(days=1), 0),
        now=kw.pop("now", LONG_BEFORE),
        enforce_booking_window=kw.pop("enforce_booking_window", False),
        **kw,
    )


@pytest.fixture
def doctor(db, service):
    practitioner = PractitionerFactory()
    practitioner.services.add(service)
    for weekday in range(7):
        WeeklyHours.objects.create(practitioner=practitioner, weekday=weekday, start_time=dt.time(9), end_time=dt.time(12))
    return practitioner


@pytest.mark.parametrize("change", [SPRING, AUTUMN])
def test_weekly_hours_keep_their_wall_clock_time_across_a_change(doctor, service, change):
    before, after = change - dt.timedelta(days=1), change + dt.timedelta(days=1)
    slots = _free(doctor, service, before, after)
    by_day = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(PARIS).date(), []).append(slot)
    # Six 30-minute slots 09:00-12:00 local each day, whatever the UTC offset
    assert {day: len(day_slots) for day, day_slots in by_day.items()} == {before: 6, change: 6, after: 6}
    for day_slots in by_day.values():
        assert [s.start.astimezone(PARIS).time() for s in day_slots][:2] == [dt.time(9), dt.time(9, 30)]
    # and in UTC the first slot moves by an hour across the change
    first_utc = {day: day_slots[0].start.astimezone(UTC).hour for day, day_slots in by_day.items()}
    if change == SPRING:
        assert (first_utc[before], first_utc[after]) == (8, 7)
    else:
        assert (first_utc[before], first_utc[after]) == (7, 8)


def test_a_night_block_over_the_spring_change_is_an_hour_shorter(db, service):
    practitioner = PractitionerFactory(time_zone="Europe/Paris")
    practitioner.services.add(service)
    # Saturday 22:00 → Sunday 06:00 local, written as two blocks (a block stays within its day)
    WeeklyHours.objects.create(practitioner=practitioner, weekday=5, start_time=dt.time(22), end_time=dt.time(23, 59))
    WeeklyHours.objects.create(practitioner=practitioner, weekday=6, start_time=dt.time(0), end_time=dt.time(6))
    spring = _free(practitioner, service, SPRING, SPRING)
    normal = _free(practitioner, service, SPRING + dt.timedelta(days=7), SPRING + dt.timedelta(days=7))
    # 00:00-06:00 is six wall-clock hours but five real ones on the night the clocks go forward
    assert len(normal) == 12 and len(spring) == 10
    assert all(s.end - s.start == dt.timedelta(minutes=30) for s in spring)
    assert dt.time(2, 0) not in [s.start.astimezone(PARIS).time() for s in spring]


def test_a_night_block_over_the_autumn_change_is_an_hour_longer(db, service):
    practitioner = PractitionerFactory(time_zone="Europe/Paris")
    practitioner.services.add(service)
    WeeklyHours.objects.create(practitioner=practitioner, weekday=6, start_time=dt.time(0), end_time=dt.time(6))
    autumn = _free(practitioner, service, AUTUMN, AUTUMN)
    assert len(autumn) == 14  # seven real hours


def test_times_in_the_spring_gap_map_to_its_end():
    assert local_instant(SPRING, dt.time(2, 30), PARIS) == dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert local_instant(SPRING, dt.time(3, 0), PARIS) == dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    # a repeated autumn time is its first occurrence (summer time)
    assert local_instant(AUTUMN, dt.time(2, 30), PARIS) == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_hours_are_read_in_the_practitioners_time_zone(db, service):
    practitioner = PractitionerFactory(time_zone="America/New_York")
    practitioner.services.add(service)
    WeeklyHours.objects.create(practitioner=practitioner, weekday=0, start_time=dt.time(9), end_time=dt.time(10))
    monday = dt.date(2027, 2, 1)
    slots = slots_free(
        practitioner=practitioner,
        service=service,
        start=dt.datetime(2027, 2, 1, tzinfo=UTC),
        end=dt.datetime(2027, 2, 2, 12, tzinfo=UTC),
        now=LONG_BEFORE,
        enforce_booking_window=False,
    )
    new_york = ZoneInfo("America/New_York")
    assert [s.start.astimezone(new_york) for s in slots] == [
        dt.datetime(2027, 2, 1, 9, tzinfo=new_york),
        dt.datetime(2027, 2, 1, 9, 30, tzinfo=new_york),
    ]
    assert slots[0].start.astimezone(UTC).hour == 14 and slots[0].start.date() == monday


def test_time_off_extra_hours_and_bookings(practitioner_paula, service, monday, front_desk_fay, paul):
    AvailabilityException.objects.create(
        practitioner=practitioner_paula, kind="time_off", start=at(monday, 9), end=at(monday, 10), reason="Training"
    )
    AvailabilityException.objects.create(practitioner=practitioner_paula, kind="extra", start=at(monday, 18), end=at(monday, 19))
    appointment_book(
        actor=front_desk_fay,
        patient=paul,
        practitioner=practitioner_paula,
        service=service,
        start=at(monday, 10),
        virtual=True,
        channel="admin",
    )
    starts = [s.start.astimezone(PARIS).time() for s in _free(practitioner_paula, service, monday, monday, now=at(monday, 0))]
    assert dt.time(9) not in starts and dt.time(9, 30) not in starts  # time off
    assert dt.time(10) not in starts and dt.time(10, 30) in starts  # booked
    assert dt.time(12) not in starts and dt.time(14) in starts  # lunch, afternoon at the clinic
    assert dt.time(18) in starts and dt.time(18, 30) in starts  # extra hours


def test_virtual_filter_and_locations(practitioner_paula, service, clinic, monday):
    morning_and_afternoon = _free(practitioner_paula, service, monday, monday, now=at(monday, 0))
    in_person = _free(practitioner_paula, service, monday, monday, now=at(monday, 0), virtual=False)
    virtual = _free(practitioner_paula, service, monday, monday, now=at(monday, 0), virtual=True)
    assert len(morning_and_afternoon) == 12 and len(virtual) == 12
    assert len(in_person) == 6 and all(s.location_id == clinic.pk and s.start.astimezone(PARIS).hour >= 14 for s in in_person)
    morning = [s for s in morning_and_afternoon if s.start.astimezone(PARIS).hour < 12]
    assert all(s.location_id is None and not s.in_person for s in morning)


def test_booking_window_for_patients(practitioner_paula, service, monday):
    now = at(monday, 9, 45)
    slots = _free(practitioner_paula, service, monday, monday + dt.timedelta(days=100), now=now, enforce_booking_window=True)
    assert slots[0].start >= now + dt.timedelta(hours=2)
    assert slots[-1].start <= now + dt.timedelta(days=60)
    staff = _free(practitioner_paula, service, monday, monday, now=now)
    assert staff[0].start == at(monday, 10)


def test_weekly_hours_validity_and_inactive_things(practitioner_paula, service, monday):
    practitioner_paula.weekly_hours.update(valid_until=monday - dt.timedelta(days=1))
    assert _free(practitioner_paula, service, monday, monday, now=at(monday, 0)) == []
    practitioner_paula.weekly_hours.update(valid_until=None)
    other = ServiceFactory(code="physio", name_en="Physiotherapy")
    assert _free(practitioner_paula, other, monday, monday, now=at(monday, 0)) == []  # not offered
    service.active = False
    service.save()
    assert _free(practitioner_paula, service, monday, monday, now=at(monday, 0)) == []


def test_slot_search_reads_a_fixed_number_of_queries(
    practitioner_paula, service, monday, front_desk_fay, django_assert_num_queries
):
    from tests.factories import PatientFactory

    for hour in (9, 10, 11):
        appointment_book(
            actor=front_desk_fay,
            patient=PatientFactory(),
            practitioner=practitioner_paula,
            service=service,
            start=at(monday, hour),
            virtual=True,
            channel="admin",
        )
    # 1 service offered? 2 weekly hours 3 exceptions 4 appointments, whatever the bookings
    with django_assert_num_queries(4):
        slots = _free(practitioner_paula, service, monday, monday + dt.timedelta(days=6), now=at(monday, 0))
    assert len(slots) == 5 * 12 - 3
