"""Free slots: weekly hours plus extra hours, minus time off and booked appointments.

Weekly hours are wall-clock times in the practitioner's time zone. Each day's block is turned into
two instants with that day's UTC offset (so 09:00 stays 09:00 across a daylight-saving change) and
slots are stepped in absolute time from the block's start. All arithmetic after that is on aware
UTC instants, which is why a 30-minute slot is 30 minutes long even on the night the clocks move.

`slots_free` answers for one practitioner, `slots_free_many` for any number in the same four
queries; both load rows the same way and cut slots with the same code (`_Plan`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils import timezone

from .models import HOLDING_STATUSES, Appointment, AvailabilityException, ExceptionKind, Practitioner, Service, WeeklyHours

UTC = dt.UTC
MAX_RANGE_DAYS = 62


@dataclass(frozen=True, order=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    practitioner_id: int
    location_id: int | None
    virtual: bool  # a virtual visit may be booked in this slot
    in_person: bool  # an in-person visit may be booked here (at location_id)


@dataclass(frozen=True)
class _Block:
    start: dt.datetime
    end: dt.datetime
    location_id: int | None
    virtual: bool


def local_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The instant a wall-clock time happens on a day, in UTC.

    A time repeated by a fall-back change takes its first occurrence. A time skipped by a
    spring-forward change (02:30 on the last Sunday of March in Europe) maps to the end of the
    gap, so hours 02:00-04:00 that night give one real hour from 03:00.
    """
    naive = dt.datetime.combine(day, at)
    early = naive.replace(tzinfo=zone).astimezone(UTC)
    if early.astimezone(zone).replace(tzinfo=None) == naive:
        return early
    # In the gap: the transition lies between the two readings of the wall time; find it.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = early
    low, high = min(low, high), max(low, high)
    after = high.astimezone(zone).utcoffset()
    while high - low > dt.timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(zone).utcoffset() == after:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0) if high.microsecond == 0 else high.replace(microsecond=0) + dt.timedelta(seconds=1)


def _weekly_blocks(zone: ZoneInfo, hours: list[WeeklyHours], first: dt.date, last: dt.date) -> list[_Block]:
    # In one order however the rows were loaded: of two blocks starting together, the first gives the slot.
    hours = sorted(hours, key=lambda h: (h.weekday, h.start_time, h.pk))
    blocks = []
    day = first
    while day <= last:
        for h in hours:
            if h.weekday != day.weekday():
                continue
            if (h.valid_from and day < h.valid_from) or (h.valid_until and day > h.valid_until):
                continue
            blocks.append(
                _Block(local_instant(day, h.start_time, zone), local_instant(day, h.end_time, zone), h.location_id, h.virtual)
            )
        day += dt.timedelta(days=1)
    return blocks


def _subtract(blocks: list[_Block], busy: list[tuple[dt.datetime, dt.datetime]]) -> list[_Block]:
    """Remove busy intervals from blocks, splitting a block around each one."""
    for b_start, b_end in busy:
        out = []
        for block in blocks:
            if b_end <= block.start or b_start >= block.end:
                out.append(block)
                continue
            if block.start < b_start:
                out.append(_Block(block.start, b_start, block.location_id, block.virtual))
            if b_end < block.end:
                out.append(_Block(b_end, block.end, block.location_id, block.virtual))
        blocks = out
    return blocks


def _overlaps(row_start: dt.datetime, row_end: dt.datetime, span: tuple[dt.datetime, dt.datetime]) -> bool:
    return row_start < span[1] and row_end > span[0]


@dataclass
class _Plan:
    """One practitioner's part of a search: the kinds of visit they can give for the service, the
    local days whose slot grid matters, then their open blocks and busy times as rows are loaded."""

    practitioner: Practitioner
    zone: ZoneInfo
    can_virtual: bool
    can_in_person: bool
    # One day of margin each side: a block on the local day before may reach into the range. The
    # grid of those days is computed whole, not only near the range: a visit earlier in a block
    # moves the grid of the rest of it (a 15-minute visit at 10:30 makes the next 30-minute slots
    # 10:45, 11:15), so booking one slot must see the grid a week's list showed.
    first: dt.date
    last: dt.date
    days: tuple[dt.datetime, dt.datetime]
    blocks: list[_Block] = field(default_factory=list)
    busy: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)

    def load_calendar(self, hours: list[WeeklyHours], exceptions: list[AvailabilityException]) -> None:
        """Open blocks from weekly hours and extra hours, busy times from time off (rows of these days)."""
        exceptions = sorted(exceptions, key=lambda e: (e.start, e.pk))
        self.blocks = _weekly_blocks(self.zone, hours, self.first, self.last)
        self.blocks += [_Block(e.start, e.end, e.location_id, e.virtual) for e in exceptions if e.kind == ExceptionKind.EXTRA]
        self.busy = [(e.start, e.end) for e in exceptions if e.kind == ExceptionKind.TIME_OFF]

    @property
    def booking_span(self) -> tuple[dt.datetime, dt.datetime]:
        """Where a booked visit changes the slots: anywhere in an open block."""
        if not self.blocks:
            return self.days
        return min(b.start for b in self.blocks), max(b.end for b in self.blocks)

    def slots(self, *, duration: dt.timedelta, virtual: bool | None, start: dt.datetime, end: dt.datetime) -> list[Slot]:
        """Slots stepped from each open block's start, minus the busy times; those starting in [start, end)."""
        slots: dict[dt.datetime, Slot] = {}
        for block in sorted(_subtract(self.blocks, self.busy), key=lambda b: b.start):
            slot_virtual = self.can_virtual and block.virtual
            slot_in_person = self.can_in_person and block.location_id is not None
            if (virtual is True and not slot_virtual) or (virtual is False and not slot_in_person):
                continue
            if not (slot_virtual or slot_in_person):
                continue
            t = block.start
            while t + duration <= block.end:
                if start <= t < end and t not in slots:
                    slots[t] = Slot(
                        start=t,
                        end=t + duration,
                        practitioner_id=self.practitioner.pk,
                        location_id=block.location_id if slot_in_person else None,
                        virtual=slot_virtual,
                        in_person=slot_in_person,
                    )
                t += duration
        return [slots[k] for k in sorted(slots)]


def _plan(
    practitioner: Practitioner, *, service: Service, start: dt.datetime, end: dt.datetime, virtual: bool | None
) -> _Plan | None:
    """What can be decided without a query: is the practitioner bookable for this kind of visit."""
    if not practitioner.active:
        return None
    can_virtual = service.virtual_allowed and practitioner.offers_virtual
    can_in_person = service.in_person_allowed and practitioner.offers_in_person
    if (virtual is True and not can_virtual) or (virtual is False and not can_in_person):
        return None
    zone = ZoneInfo(practitioner.time_zone)
    first = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date() + dt.timedelta(days=1)
    days = (local_instant(first, dt.time(0), zone), local_instant(last + dt.timedelta(days=1), dt.time(0), zone))
    return _Plan(practitioner, zone, can_virtual, can_in_person, first, last, days)


def _weekly_hours_of(practitioners: list[Practitioner]) -> dict[int, list[WeeklyHours]]:
    if len(practitioners) == 1:
        # Through the related manager, so that a caller's prefetch is used (the admin calendar has one).
        return {practitioners[0].pk: list(practitioners[0].weekly_hours.all())}
    hours: dict[int, list[WeeklyHours]] = defaultdict(list)
    for h in WeeklyHours.objects.filter(practitioner__in=[p.pk for p in practitioners]):
        hours[h.practitioner_id].append(h)
    return hours


def _slots_search(
    *,
    practitioners: list[Practitioner],
    service: Service,
    start: dt.datetime,
    end: dt.datetime,
    virtual: bool | None,
    now: dt.datetime | None,
    enforce_booking_window: bool,
    ignore_appointment_id: int | None = None,
) -> list[Slot]:
    """The free slots of every practitioner given, in four queries whatever their number: who
    offers the service, their weekly hours, their exceptions, their bookings. Each query covers the
    days of every practitioner at once (their time zones differ); rows are then handed to each
    practitioner for their own days only, so one practitioner's slots never depend on who else was
    asked about."""
    if end <= start or not service.active:
        return []
    now = now or timezone.now()
    if enforce_booking_window:
        start = max(start, now + dt.timedelta(hours=service.min_notice_hours))
        end = min(end, now + dt.timedelta(days=service.max_days_ahead))
    else:
        start = max(start, now)
    if end <= start:
        return []
    plans = {
        p.pk: plan
        for p in practitioners
        if (plan := _plan(p, service=service, start=start, end=end, virtual=virtual)) is not None
    }
    if not plans:
        return []
    offering = Practitioner.services.through.objects.filter(service=service, practitioner__in=list(plans))
    offered = set(offering.values_list("practitioner_id", flat=True))
    plans = {pk: plan for pk, plan in plans.items() if pk in offered}
    if not plans:
        return []

    hours = _weekly_hours_of([plan.practitioner for plan in plans.values()])
    days = (min(p.days[0] for p in plans.values()), max(p.days[1] for p in plans.values()))
    exceptions: dict[int, list[AvailabilityException]] = defaultdict(list)
    for e in AvailabilityException.objects.filter(practitioner__in=list(plans), start__lt=days[1], end__gt=days[0]):
        if _overlaps(e.start, e.end, plans[e.practitioner_id].days):
            exceptions[e.practitioner_id].append(e)
    for pk, plan in plans.items():
        plan.load_calendar(hours.get(pk, []), exceptions[pk])

    spans = {pk: plan.booking_span for pk, plan in plans.items()}
    booked = Appointment.objects.filter(
        practitioner__in=list(plans),
        status__in=HOLDING_STATUSES,
        start__lt=max(span[1] for span in spans.values()),
        end__gt=min(span[0] for span in spans.values()),
    )
    if ignore_appointment_id is not None:
        booked = booked.exclude(pk=ignore_appointment_id)
    for practitioner_id, b_start, b_end in booked.values_list("practitioner_id", "start", "end"):
        if _overlaps(b_start, b_end, spans[practitioner_id]):
            plans[practitioner_id].busy.append((b_start, b_end))

    duration = dt.timedelta(minutes=service.duration_minutes)
    slots = [slot for plan in plans.values() for slot in plan.slots(duration=duration, virtual=virtual, start=start, end=end)]
    return sorted(slots, key=lambda s: (s.start, s.practitioner_id))


def slots_free(
    *,
    practitioner: Practitioner,
    service: Service,
    start: dt.datetime,
    end: dt.datetime,
    virtual: bool | None = None,
    now: dt.datetime | None = None,
    enforce_booking_window: bool = True,
    ignore_appointment_id: int | None = None,
) -> list[Slot]:
    """Bookable slots of `service` with `practitioner` that start in [start, end).

    `virtual` filters to slots that can hold a virtual (True) or in-person (False) visit.
    With `enforce_booking_window` (patients), slots sooner than the service's minimum notice or
    further than its booking window are left out; the front desk books without it.
    `ignore_appointment_id` treats that appointment's time as free (moving it).
    """
    return _slots_search(
        practitioners=[practitioner],
        service=service,
        start=start,
        end=end,
        virtual=virtual,
        now=now,
        enforce_booking_window=enforce_booking_window,
        ignore_appointment_id=ignore_appointment_id,
    )


def slots_free_many(
    *,
    practitioners: Iterable[Practitioner],
    service: Service,
    start: dt.datetime,
    end: dt.datetime,
    virtual: bool | None = None,
    now: dt.datetime | None = None,
    enforce_booking_window: bool = True,
) -> list[Slot]:
    """`slots_free` for several practitioners at once, in a fixed number of queries: the same
    slots as asking for each in turn, sorted by start, then practitioner."""
    return _slots_search(
        practitioners=list(practitioners),
        service=service,
        start=start,
        end=end,
        virtual=virtual,
        now=now,
        enforce_booking_window=enforce_booking_window,
    )


def slot_find(
    *,
    practitioner: Practitioner,
    service: Service,
    start: dt.datetime,
    virtual: bool | None,
    now: dt.datetime | None = None,
    enforce_booking_window: bool = True,
    ignore_appointment_id: int | None = None,
) -> Slot | None:
    """The free slot that starts exactly at `start`, or None (`virtual` as in `slots_free`: None for
    a slot of either kind)."""
    for slot in slots_free(
        practitioner=practitioner,
        service=service,
        start=start,
        end=start + dt.timedelta(seconds=1),
        virtual=virtual,
        now=now,
        enforce_booking_window=enforce_booking_window,
        ignore_appointment_id=ignore_appointment_id,
    ):
        if slot.start == start:
            return slot
    return None
