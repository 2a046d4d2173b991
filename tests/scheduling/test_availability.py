"""Free slots: weekly hours in the practitioner's time zone, plus extra hours, minus time off and
bookings; correct across daylight-saving changes."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduling.availability import local_instant, slots_free, slots_free_many
from scheduling.models import AvailabilityException, WeeklyHours
from scheduling.services import appointment_cancel
from tests.factories import LocationFactory, PatientFactory, PractitionerFactory, ServiceFactory, practitioner_with_week

from .conftest import PARIS, at, book

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
    book(front_desk_fay, paul, practitioner_paula, service, at(monday, 10))
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
        book(front_desk_fay, PatientFactory(), practitioner_paula, service, at(monday, hour))
    # 1 service offered? 2 weekly hours 3 exceptions 4 appointments, whatever the bookings
    with django_assert_num_queries(4):
        slots = _free(practitioner_paula, service, monday, monday + dt.timedelta(days=6), now=at(monday, 0))
    assert len(slots) == 5 * 12 - 3


# --- many practitioners at once ---------------------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
# New York moves forward on 2027-03-14, Paris on 2027-03-28, Sydney back on 2027-04-04.
NY_SPRING, SYDNEY_AUTUMN = dt.date(2027, 3, 14), dt.date(2027, 4, 4)
SYDNEY_MONDAY = dt.date(2027, 3, 22)
RANGES = {
    # Four weeks that start and end mid-day, over three daylight-saving changes
    "weeks": (dt.datetime(2027, 3, 10, 10, 40, tzinfo=UTC), dt.datetime(2027, 4, 6, 5, 0, tzinfo=UTC)),
    # Sunday 23:00 to Monday 13:00 in Paris: Sydney's Monday 09:00-23:00, after its first visit of the day
    "sunday night": (dt.datetime(2027, 3, 21, 22, 0, tzinfo=UTC), dt.datetime(2027, 3, 22, 12, 0, tzinfo=UTC)),
}


def _local(zone: ZoneInfo, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def _staff_book(actor, practitioner, service, start, *, virtual=True, **kw):
    return book(actor, PatientFactory(), practitioner, service, start, virtual, now=LONG_BEFORE, **kw)


@pytest.fixture
def team(practitioner_paula, service, clinic, front_desk_fay):
    """Paula in Paris, one doctor in New York and one in Sydney, each with bookings, time off and
    extra hours around their own daylight-saving change in March-April 2027; one doctor who does
    not offer the service and one who is no longer bookable."""
    # Paula: a 15-minute follow-up shifts her grid, an in-person visit after the Paris change, a
    # cancelled visit that frees its time, a day off, and a night of extra hours across the change
    follow_up = ServiceFactory(code="follow-up", name_en="Follow-up", duration_minutes=15, in_person_allowed=False)
    practitioner_paula.services.add(follow_up)
    _staff_book(front_desk_fay, practitioner_paula, follow_up, at(dt.date(2027, 3, 15), 10, 30))
    _staff_book(front_desk_fay, practitioner_paula, service, at(dt.date(2027, 3, 29), 14), virtual=False, location=clinic)
    cancelled = _staff_book(front_desk_fay, practitioner_paula, service, at(dt.date(2027, 3, 16), 9))
    appointment_cancel(actor=front_desk_fay, appointment=cancelled, now=LONG_BEFORE)
    AvailabilityException.objects.create(
        practitioner=practitioner_paula, kind="time_off", start=at(dt.date(2027, 3, 17), 0), end=at(dt.date(2027, 3, 18), 0)
    )
    AvailabilityException.objects.create(
        practitioner=practitioner_paula, kind="extra", start=at(SPRING - dt.timedelta(days=1), 22), end=at(SPRING, 4)
    )

    # New York: video mornings and a Saturday evening at its own clinic; extra hours in the spring gap
    new_york_clinic = LocationFactory(name="Midtown Clinic", city="New York")
    new_york = practitioner_with_week(service=service, location=new_york_clinic, time_zone="America/New_York")
    WeeklyHours.objects.create(
        practitioner=new_york, weekday=5, start_time=dt.time(18), end_time=dt.time(22), location=new_york_clinic, virtual=False
    )
    _staff_book(front_desk_fay, new_york, service, _local(NEW_YORK, dt.date(2027, 3, 15), 9, 30))
    AvailabilityException.objects.create(
        practitioner=new_york,
        kind="time_off",
        start=_local(NEW_YORK, dt.date(2027, 3, 12), 9),
        end=_local(NEW_YORK, dt.date(2027, 3, 12), 17),
    )
    AvailabilityException.objects.create(
        practitioner=new_york, kind="extra", start=_local(NEW_YORK, NY_SPRING, 1), end=_local(NEW_YORK, NY_SPRING, 4)
    )

    # Sydney: every morning at a clinic (video too), its mornings on the previous UTC day; extra
    # hours over the repeated hour of the autumn change, a visit the day after
    sydney_clinic = LocationFactory(name="Harbour Clinic", city="Sydney")
    sydney = practitioner_with_week(service=service, location=sydney_clinic, time_zone="Australia/Sydney", offers_virtual=False)
    sydney.weekly_hours.all().delete()
    for weekday in range(7):
        WeeklyHours.objects.create(
            practitioner=sydney, weekday=weekday, start_time=dt.time(8), end_time=dt.time(11), location=sydney_clinic
        )
    AvailabilityException.objects.create(
        practitioner=sydney,
        kind="extra",
        start=_local(SYDNEY, SYDNEY_AUTUMN, 1),
        end=_local(SYDNEY, SYDNEY_AUTUMN, 4),
        location=sydney_clinic,
        virtual=False,
    )
    _staff_book(front_desk_fay, sydney, service, _local(SYDNEY, SYDNEY_AUTUMN + dt.timedelta(days=1), 8), virtual=False)
    # and a 45-minute visit at 08:00 on Monday 22 March, Sunday evening in Paris and UTC: it moves
    # the grid of the rest of that morning
    long_visit = ServiceFactory(code="long", name_en="Long consultation", duration_minutes=45, virtual_allowed=False)
    sydney.services.add(long_visit)
    _staff_book(front_desk_fay, sydney, long_visit, _local(SYDNEY, SYDNEY_MONDAY, 8), virtual=False)

    # Hours, but not this service; and the service, but no longer bookable
    elsewhere = practitioner_with_week(service=ServiceFactory(code="physio", name_en="Physiotherapy"), location=clinic)
    retired = practitioner_with_week(service=service, location=clinic, active=False)
    return {"paula": practitioner_paula, "new_york": new_york, "sydney": sydney, "elsewhere": elsewhere, "retired": retired}


@pytest.mark.parametrize("virtual", [None, True, False])
@pytest.mark.parametrize("patients", [False, True], ids=["staff", "patients"])
@pytest.mark.parametrize("span", list(RANGES))
def test_slots_free_many_is_the_union_of_each_practitioners_slots(team, service, virtual, patients, span):
    search = {
        "service": service,
        "start": RANGES[span][0],
        "end": RANGES[span][1],
        "virtual": virtual,
        # patients: from two hours after a Saturday morning on; staff: from long before
        "now": dt.datetime(2027, 3, 20, 9, 45, tzinfo=UTC) if patients else LONG_BEFORE,
        "enforce_booking_window": patients,
    }
    everyone = list(team.values())

    # When the slots of everyone are asked for at once, and of each in turn
    together = slots_free_many(practitioners=everyone, **search)
    one_by_one = sorted(
        (slot for practitioner in everyone for slot in slots_free(practitioner=practitioner, **search)),
        key=lambda s: (s.start, s.practitioner_id),
    )

    # Then they are the same slots, in the same order
    assert together == one_by_one
    # and the search found each bookable practitioner, and nobody else
    if span == "weeks":
        found = {"paula", "new_york"} | ({"sydney"} if virtual is not True else set())  # Sydney: in person only
    else:
        # Paula's Monday morning is by video, Sydney's in person; New York's starts at 13:00 UTC
        found = ({"paula"} if virtual is not False else set()) | ({"sydney"} if virtual is not True else set())
    assert {s.practitioner_id for s in together} == {team[name].pk for name in found}
    # and the same practitioner's slots do not change with who else was asked about
    for name in ("paula", "new_york", "sydney"):
        alone = slots_free_many(practitioners=[team[name]], **search)
        assert alone == [s for s in together if s.practitioner_id == team[name].pk]


def test_slots_free_many_keeps_each_practitioners_time_zone_and_grid(team, service):
    together = slots_free_many(
        practitioners=team.values(),
        service=service,
        start=dt.datetime(2027, 3, 10, tzinfo=UTC),
        end=dt.datetime(2027, 4, 7, tzinfo=UTC),
        now=LONG_BEFORE,
        enforce_booking_window=False,
    )
    starts = {name: {s.start for s in together if s.practitioner_id == team[name].pk} for name in team}
    # Paula's morning after the 15-minute follow-up at 10:30 is on its own grid
    monday = dt.date(2027, 3, 15)
    assert {at(monday, 10), at(monday, 10, 45), at(monday, 11, 15)} <= starts["paula"]
    assert at(monday, 10, 30) not in starts["paula"] and at(monday, 11) not in starts["paula"]
    assert at(dt.date(2027, 3, 16), 9) in starts["paula"]  # the cancelled visit's time is free
    assert not any(s.astimezone(PARIS).date() == dt.date(2027, 3, 17) for s in starts["paula"])  # day off
    assert at(SPRING, 3) in starts["paula"] and at(SPRING - dt.timedelta(days=1), 23, 30) in starts["paula"]
    # New York's 09:00 is 14:00 UTC before its change and 13:00 UTC after; its booked 09:30 is taken
    assert dt.datetime(2027, 3, 11, 14, tzinfo=UTC) in starts["new_york"]
    assert dt.datetime(2027, 3, 16, 13, tzinfo=UTC) in starts["new_york"]
    assert _local(NEW_YORK, monday, 9, 30) not in starts["new_york"]
    # Sydney's 08:00 is 21:00 UTC the day before, then 22:00 UTC once its clocks went back
    assert dt.datetime(2027, 4, 1, 21, tzinfo=UTC) in starts["sydney"]
    assert dt.datetime(2027, 4, 4, 22, tzinfo=UTC) not in starts["sydney"]  # booked, Monday 08:00
    assert dt.datetime(2027, 4, 5, 22, tzinfo=UTC) in starts["sydney"]
    # after the 45-minute visit at 08:00, Sydney's Monday morning is on its own grid
    assert {_local(SYDNEY, SYDNEY_MONDAY, h, m) for h, m in ((8, 45), (9, 15), (9, 45), (10, 15))} <= starts["sydney"]
    assert _local(SYDNEY, SYDNEY_MONDAY, 9) not in starts["sydney"]
    # the repeated hour of Sydney's change gives four hours of extra slots, not three
    night = [s for s in starts["sydney"] if _local(SYDNEY, SYDNEY_AUTUMN, 0) <= s < _local(SYDNEY, SYDNEY_AUTUMN, 5)]
    assert len(night) == 8
    assert not starts["elsewhere"] and not starts["retired"]
    assert [(s.start, s.practitioner_id) for s in together] == sorted((s.start, s.practitioner_id) for s in together)


def test_slots_free_many_reads_the_same_queries_for_2_or_10_practitioners(
    service, clinic, monday, front_desk_fay, django_assert_num_queries
):
    zones = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles"]

    def hire(count: int) -> list:
        """Practitioners with the standard week in their own time zone, a visit Monday 09:00, time off
        Tuesday 09:00-10:00 and extra hours Saturday 10:00-11:00 (local times)."""
        hired = []
        for n in range(count):
            zone = ZoneInfo(zones[n % len(zones)])
            practitioner = practitioner_with_week(service=service, location=clinic, time_zone=zone.key)
            book(front_desk_fay, PatientFactory(), practitioner, service, _local(zone, monday, 9))
            tuesday, saturday = monday + dt.timedelta(days=1), monday + dt.timedelta(days=5)
            AvailabilityException.objects.create(
                practitioner=practitioner, kind="time_off", start=_local(zone, tuesday, 9), end=_local(zone, tuesday, 10)
            )
            AvailabilityException.objects.create(
                practitioner=practitioner, kind="extra", start=_local(zone, saturday, 10), end=_local(zone, saturday, 11)
            )
            hired.append(practitioner)
        return hired

    search = {
        "service": service,
        # Sunday noon to Sunday noon in Paris: Monday 09:00 to Saturday 11:00 of every time zone, once
        "start": at(monday - dt.timedelta(days=1), 12),
        "end": at(monday + dt.timedelta(days=6), 12),
        "now": at(monday - dt.timedelta(days=2), 0),
        "enforce_booking_window": False,
    }
    team = hire(2)
    # 1 who offers the service 2 weekly hours 3 exceptions 4 bookings — for all of them at once
    with django_assert_num_queries(4):
        two = slots_free_many(practitioners=team, **search)
    team += hire(8)
    with django_assert_num_queries(4):
        ten = slots_free_many(practitioners=team, **search)
    # Five days of twelve slots, less the visit and the time off, plus the extra hours: 59 each
    assert len(two) == 2 * 59 and len(ten) == 10 * 59
