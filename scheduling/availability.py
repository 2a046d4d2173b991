"""Free slots: weekly hours plus extra hours, minus time off and booked appointments.

Weekly hours are wall-clock times in the practitioner's time zone. Each day's block is turned into
two instants with that day's UTC offset (so 09:00 stays 09:00 across a daylight-saving change) and
slots are stepped in absolute time from the block's start. All arithmetic after that is on aware
UTC instants, which is why a 30-minute slot is 30 minutes long even on the night the clocks move.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q
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


def _weekly_blocks(practitioner: Practitioner, hours: list[WeeklyHours], first: dt.date, last: dt.date) -> list[_Block]:
    zone = ZoneInfo(practitioner.time_zone)
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
    if end <= start:
        return []
    now = now or timezone.now()
    if not practitioner.active or not service.active:
        return []
    if not practitioner.services.filter(pk=service.pk).exists():
        return []
    can_virtual = service.virtual_allowed and practitioner.offers_virtual
    can_in_person = service.in_person_allowed and practitioner.offers_in_person
    if (virtual is True and not can_virtual) or (virtual is False and not can_in_person):
        return []
    if enforce_booking_window:
        start = max(start, now + dt.timedelta(hours=service.min_notice_hours))
        end = min(end, now + dt.timedelta(days=service.max_days_ahead))
        if end <= start:
            return []
    else:
        start = max(start, now)
    duration = dt.timedelta(minutes=service.duration_minutes)
    zone = ZoneInfo(practitioner.time_zone)
    # One day of margin each side: a block on the local day before may reach into the range.
    first = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date() + dt.timedelta(days=1)

    blocks = _weekly_blocks(practitioner, list(practitioner.weekly_hours.all()), first, last)
    # Everything that shapes the slot grid of these days, not only what lies near [start, end): a
    # visit earlier in a block moves the grid of the rest of it (a 15-minute visit at 10:30 makes
    # the next 30-minute slots 10:45, 11:15), so booking one slot must see the grid a week's list showed.
    days = Q(
        start__lt=local_instant(last + dt.timedelta(days=1), dt.time(0), zone), end__gt=local_instant(first, dt.time(0), zone)
    )
    exceptions = list(AvailabilityException.objects.filter(days, practitioner=practitioner))
    blocks += [_Block(e.start, e.end, e.location_id, e.virtual) for e in exceptions if e.kind == ExceptionKind.EXTRA]
    busy = [(e.start, e.end) for e in exceptions if e.kind == ExceptionKind.TIME_OFF]
    window = Q(start__lt=max(b.end for b in blocks), end__gt=min(b.start for b in blocks)) if blocks else days
    booked = Appointment.objects.filter(window, practitioner=practitioner, status__in=HOLDING_STATUSES)
    if ignore_appointment_id is not None:
        booked = booked.exclude(pk=ignore_appointment_id)
    busy += list(booked.values_list("start", "end"))
    blocks = _subtract(blocks, busy)

    slots: dict[dt.datetime, Slot] = {}
    for block in sorted(blocks, key=lambda b: b.start):
        slot_virtual = can_virtual and block.virtual
        slot_in_person = can_in_person and block.location_id is not None
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
                    practitioner_id=practitioner.pk,
                    location_id=block.location_id if slot_in_person else None,
                    virtual=slot_virtual,
                    in_person=slot_in_person,
                )
            t += duration
    return [slots[k] for k in sorted(slots)]


def slot_find(
    *,
    practitioner: Practitioner,
    service: Service,
    start: dt.datetime,
    virtual: bool,
    now: dt.datetime | None = None,
    enforce_booking_window: bool = True,
    ignore_appointment_id: int | None = None,
) -> Slot | None:
    """The free slot that starts exactly at `start`, or None."""
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
