"""What the booking and appointment pages share: safe look-ups from query strings and the free
times offered, a week at a time, in the patient's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from ..availability import Slot, slots_free, slots_free_many
from ..forms import parse_slot_start
from ..models import Location, Practitioner, Service
from ..selectors import practitioners_bookable

# How many other free times a refused booking offers in its place.
FRESH_SLOTS = 12


def practitioners_for(service: Service, *, virtual: bool | None = None):
    return practitioners_bookable(service=service, virtual=virtual).prefetch_related("locations")


def start_or_none(value) -> dt.datetime | None:
    try:
        return parse_slot_start(value)
    except ValidationError:
        return None


# --- free times, a week at a time -------------------------------------------------------------


@dataclass
class SlotChoice:
    slot: Slot
    local: dt.datetime  # in the patient's time zone
    value: str  # the start as the pages carry it: ISO 8601 in UTC
    href: str = ""
    location: Location | None = None
    # Inside the cancellation notice: once booked, it cannot be moved or cancelled online.
    locked: bool = False
    practitioner: Practitioner | None = None  # named when the patient asked for anyone


@dataclass
class Week:
    monday: dt.date
    days: list[dict]
    previous: dt.date | None
    next: dt.date | None

    @property
    def has_locked(self) -> bool:
        return any(choice.locked for group in self.days for choice in group["slots"])


def slot_value(start: dt.datetime) -> str:
    return start.astimezone(dt.UTC).isoformat()


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _week_bounds(monday: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(monday, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min, tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _by_day(
    slots: list[Slot], zone: ZoneInfo, *, href=None, locations: dict | None = None, service: Service, now: dt.datetime
) -> list[dict]:
    days: dict[dt.date, list[SlotChoice]] = {}
    for slot in slots:
        local = slot.start.astimezone(zone)
        value = slot_value(slot.start)
        days.setdefault(local.date(), []).append(
            SlotChoice(
                slot=slot,
                local=local,
                value=value,
                href=href(value) if href else "",
                location=(locations or {}).get(slot.location_id),
                locked=now > service.online_change_deadline(slot.start),
            )
        )
    return [{"day": day, "slots": choices} for day, choices in days.items()]


def _patient_search(practitioner: Practitioner, service: Service, *, virtual, now, ignore_appointment_id) -> dict:
    """The arguments of `slots_free` for a patient's page, but the span: held to the booking window."""
    return {
        "practitioner": practitioner,
        "service": service,
        "virtual": virtual,
        "now": now,
        "enforce_booking_window": True,
        "ignore_appointment_id": ignore_appointment_id,
    }


def week_of_slots(
    *,
    practitioner: Practitioner,
    service: Service,
    zone: ZoneInfo,
    week: str | None,
    virtual: bool | None,
    now: dt.datetime,
    href=None,
    ignore_appointment_id: int | None = None,
) -> Week:
    """The free times of one week (Monday to Sunday in the patient's time zone) inside the
    booking window. Without a week asked for, the first week that has a free time."""
    first = _monday(now.astimezone(zone).date())
    last = _monday((now + dt.timedelta(days=service.max_days_ahead)).astimezone(zone).date())
    try:
        asked = _monday(dt.date.fromisoformat(week)) if week else None
    except (ValueError, OverflowError):
        asked = None
    search = _patient_search(practitioner, service, virtual=virtual, now=now, ignore_appointment_id=ignore_appointment_id)
    if asked is None:
        # One search over the whole window (the same queries as one week): open where the free times are.
        upcoming = slots_free(start=now, end=now + dt.timedelta(days=service.max_days_ahead), **search)
        monday = _monday(upcoming[0].start.astimezone(zone).date()) if upcoming else first
        start, end = _week_bounds(monday, zone)
        slots = [s for s in upcoming if start <= s.start < end]
    else:
        monday = min(max(asked, first), last)
        start, end = _week_bounds(monday, zone)
        slots = slots_free(start=start, end=end, **search)
    locations = {location.pk: location for location in practitioner.locations.all()}
    return Week(
        monday=monday,
        days=_by_day(slots, zone, href=href, locations=locations, service=service, now=now),
        previous=monday - dt.timedelta(days=7) if monday > first else None,
        next=monday + dt.timedelta(days=7) if monday < last else None,
    )


# The practitioner asked for in a query string when the patient lets the clinic choose.
ANY_PRACTITIONER = "any"


def week_of_slots_any(
    *,
    practitioners: list[Practitioner],
    service: Service,
    zone: ZoneInfo,
    week: str | None,
    virtual: bool | None,
    now: dt.datetime,
    href,
) -> Week:
    """`week_of_slots` with whoever is free: each free time once, with the first practitioner
    (by name) free then, in the same queries whatever the number of practitioners."""
    first = _monday(now.astimezone(zone).date())
    last = _monday((now + dt.timedelta(days=service.max_days_ahead)).astimezone(zone).date())
    try:
        asked = _monday(dt.date.fromisoformat(week)) if week else None
    except (ValueError, OverflowError):
        asked = None
    search = {"practitioners": practitioners, "service": service, "virtual": virtual, "now": now, "enforce_booking_window": True}
    if asked is None:
        upcoming = (
            slots_free_many(start=now, end=now + dt.timedelta(days=service.max_days_ahead), **search) if practitioners else []
        )
        monday = _monday(upcoming[0].start.astimezone(zone).date()) if upcoming else first
        start, end = _week_bounds(monday, zone)
        slots = [s for s in upcoming if start <= s.start < end]
    else:
        monday = min(max(asked, first), last)
        start, end = _week_bounds(monday, zone)
        slots = slots_free_many(start=start, end=end, **search) if practitioners else []
    order = {p.pk: n for n, p in enumerate(practitioners)}
    by_start: dict[dt.datetime, Slot] = {}
    for slot in sorted(slots, key=lambda s: (s.start, order.get(s.practitioner_id, 0))):
        by_start.setdefault(slot.start, slot)
    chosen = [by_start[k] for k in sorted(by_start)]
    people = {p.pk: p for p in practitioners}
    locations = {location.pk: location for p in practitioners for location in p.locations.all()}
    days = _by_day(chosen, zone, locations=locations, service=service, now=now)
    for group in days:
        for choice in group["slots"]:
            choice.practitioner = people.get(choice.slot.practitioner_id)
            choice.href = href(choice.value, choice.slot.practitioner_id)
    return Week(
        monday=monday,
        days=days,
        previous=monday - dt.timedelta(days=7) if monday > first else None,
        next=monday + dt.timedelta(days=7) if monday < last else None,
    )


def fresh_slots(
    *,
    practitioner: Practitioner,
    service: Service,
    zone: ZoneInfo,
    around: dt.datetime | None,
    now: dt.datetime,
    virtual: bool | None = None,
    ignore_appointment_id: int | None = None,
) -> list[dict]:
    """Free times to offer instead of one that was refused: from the start of that day on, a week long."""
    start = now
    if around is not None:
        start = max(now, dt.datetime.combine(around.astimezone(zone).date(), dt.time.min, tzinfo=zone))
    search = _patient_search(practitioner, service, virtual=virtual, now=now, ignore_appointment_id=ignore_appointment_id)
    slots = slots_free(start=start, end=start + dt.timedelta(days=7), **search)
    if not slots:
        slots = slots_free(start=now, end=now + dt.timedelta(days=service.max_days_ahead), **search)
    locations = {location.pk: location for location in practitioner.locations.all()}
    return _by_day(slots[:FRESH_SLOTS], zone, locations=locations, service=service, now=now)
