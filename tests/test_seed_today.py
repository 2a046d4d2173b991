"""The demo's "today" is the moment it starts: Paula's queue opens with Paul's video visit under
way or about to be, his link ready, whatever the hour and the day `make demo` is run."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from patients.models import Patient
from scheduling.models import Appointment
from scheduling.selectors import practitioner_day
from scheduling.video import video_access

PARIS = ZoneInfo("Europe/Paris")


def _next(weekday: int) -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=7 + (weekday - today.weekday()) % 7)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("weekday", "clock"),
    [(2, dt.time(16, 40)), (5, dt.time(8, 5)), (1, dt.time(12, 20)), (3, dt.time(23, 50))],
    ids=["wednesday afternoon", "saturday morning", "tuesday lunch", "thursday night"],
)
def test_paul_is_ready_for_video_when_the_demo_starts(monkeypatch, weekday, clock):
    started = dt.datetime.combine(_next(weekday), clock, tzinfo=PARIS)
    monkeypatch.setattr(timezone, "now", lambda: started.astimezone(dt.UTC))
    call_command("seed_demo", patients=6, verbosity=0)

    paul = Patient.objects.get(user__email="paul@salus.example")
    visit = Appointment.objects.get(patient=paul, start__date=started.date(), status="booked")
    # his visit is the current one: under way or starting within the quarter hour, not hours ago
    assert visit.virtual and visit.start <= started + dt.timedelta(minutes=15)
    assert started < visit.over_at()
    if clock < dt.time(22, 30):
        assert started - dt.timedelta(minutes=15) < visit.start
    # and the link is there for him and for Paula now
    assert video_access(user=paul.user, appointment=visit, now=started).url
    assert video_access(user=visit.practitioner.user, appointment=visit, now=started).url
    queue = practitioner_day(practitioner=visit.practitioner, day=started.date())
    assert queue.count() >= (3 if clock < dt.time(22, 30) else 2) and queue.first() == visit
