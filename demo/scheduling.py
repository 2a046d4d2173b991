"""Scheduling in the demo: a clinic, services, three practitioners with weekly hours, and visits
booked through the booking service (so they carry reminders, confirmation emails and events).

Today's visits are booked as the front desk would have booked them early this morning, and placed
from the moment the demo starts: Paula holds a video clinic (extra hours) beginning then, Paul's
visit opens it (intake and consent done, so his video link is ready now), Petra and two more
patients follow. So the provider's queue has a visit to start whatever the time `make demo`
starts, on a weekday or a weekend.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction

from consent.models import Purpose
from consent.selectors import consent_is_active
from consent.services import consent_sign
from scheduling.availability import slots_free
from scheduling.models import AvailabilityException, ExceptionKind, Location, Practitioner, Service, WeeklyHours
from scheduling.services import (
    appointment_book,
    appointment_intake_submit,
    appointment_note_write,
    appointment_status_set,
)

PARIS = ZoneInfo("Europe/Paris")

SERVICES = [
    # code, en, fr, it, minutes, virtual, in person
    ("consult", "General consultation", "Consultation générale", "Visita generale", 30, True, True),
    ("follow-up", "Follow-up by video", "Consultation de suivi en vidéo", "Visita di controllo in video", 15, True, False),
    ("chronic-review", "Chronic care review", "Bilan de suivi chronique", "Revisione della cura cronica", 45, False, True),
]

# email, display name, specialty, languages, services, weekly blocks (from, until, at the clinic?)
PRACTITIONERS = [
    (
        "paula@salus.example",
        "Dr Paula Moreau",
        "General practice",
        ["fr", "en"],
        ["consult", "follow-up"],
        [("09:00", "12:00", False), ("14:00", "17:30", True)],
    ),
    (
        "marco@salus.example",
        "Dr Marco Ferri",
        "Internal medicine",
        ["it", "en", "fr"],
        ["consult", "follow-up", "chronic-review"],
        [("08:30", "12:30", True), ("13:30", "16:00", False)],
    ),
    (
        "claire@salus.example",
        "Dr Claire Petit",
        "Diabetology",
        ["fr", "en"],
        ["follow-up", "chronic-review"],
        [("10:00", "13:00", True), ("15:00", "18:00", False)],
    ),
]

NOTE = "Video visit: glucose diary reviewed, readings mostly in range. Continue metformin; HbA1c in 3 months."


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _working_days(start: dt.date, n: int) -> list[dt.date]:
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _setup(*, admin, staff) -> tuple[Location, dict, dict]:
    clinic, _ = Location.objects.get_or_create(
        name="Clinique Salus Paris",
        defaults={
            "address_line": "12 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "phone": "+33 1 40 00 00 00",
            "time_zone": "Europe/Paris",
        },
    )
    services = {}
    for code, en, fr, it, minutes, virtual, in_person in SERVICES:
        services[code], _ = Service.objects.get_or_create(
            code=code,
            defaults={
                "name_en": en,
                "name_fr": fr,
                "name_it": it,
                "duration_minutes": minutes,
                "virtual_allowed": virtual,
                "in_person_allowed": in_person,
            },
        )
    practitioners = {}
    for email, name, specialty, languages, codes, blocks in PRACTITIONERS:
        practitioner = Practitioner(
            user=staff[email], display_name=name, specialty=specialty, languages=languages, time_zone="Europe/Paris"
        )
        practitioner._history_user = admin
        practitioner.full_clean()
        practitioner.save()
        practitioner.services.set([services[c] for c in codes])
        practitioner.locations.set([clinic])
        WeeklyHours.objects.bulk_create(
            WeeklyHours(
                practitioner=practitioner,
                weekday=weekday,
                start_time=_time(start),
                end_time=_time(end),
                location=clinic if at_clinic else None,
                virtual=True,
            )
            for weekday in range(5)
            for start, end, at_clinic in blocks
        )
        practitioners[email] = practitioner
    return clinic, services, practitioners


# The latest a today's clinic may begin and still hold Paul's, Petra's and two more visits before midnight.
LATEST_CLINIC_START = dt.time(22, 30)


def today_clinic_start(now: dt.datetime) -> dt.datetime:
    """When today's video clinic begins: the current quarter hour in Paris (Paul's visit is under
    way, or about to be, when the demo opens), no later than 22:30 so that the day still holds it and his visit is still open at midnight."""
    local = now.astimezone(PARIS)
    quarter = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    latest = dt.datetime.combine(local.date(), LATEST_CLINIC_START, tzinfo=PARIS)
    return min(quarter, latest)


def _slot(practitioner, service, day: dt.date, *, virtual: bool, not_before: str = "00:00"):
    """The first free slot on a local day from a wall-clock time, as the front desk sees it that morning."""
    start = dt.datetime.combine(day, _time(not_before), tzinfo=PARIS)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=PARIS)
    morning = dt.datetime.combine(day, dt.time(6), tzinfo=PARIS)
    free = slots_free(
        practitioner=practitioner,
        service=service,
        start=start,
        end=end,
        virtual=virtual,
        now=min(start, morning),
        enforce_booking_window=False,
    )
    return free[0] if free else None


def _book(*, actor, patient, practitioner, service, day, virtual, not_before="00:00", reason="", channel="admin", now=None):
    slot = _slot(practitioner, service, day, virtual=virtual, not_before=not_before)
    if slot is None:
        return None
    with transaction.atomic():
        return appointment_book(
            actor=actor,
            patient=patient,
            practitioner=practitioner,
            service=service,
            start=slot.start,
            virtual=virtual,
            reason=reason,
            channel=channel,
            now=now or dt.datetime.combine(day, dt.time(6), tzinfo=PARIS),
        )


def seed_scheduling(*, staff: dict, patients: list, now: dt.datetime, rng) -> int:
    """Create the scheduling demo and return how many visits were booked."""
    admin, front_desk = staff["admin@salus.example"], staff["fay@salus.example"]
    with transaction.atomic():
        _clinic, services, practitioners = _setup(admin=admin, staff=staff)
    paula, marco, claire = (practitioners[e] for e in ("paula@salus.example", "marco@salus.example", "claire@salus.example"))
    paul, petra = patients[0], patients[1]
    others = patients[2:-1]  # the last patient has an erasure request waiting
    today = now.astimezone(PARIS).date()
    clinic_start = today_clinic_start(now)
    AvailabilityException.objects.create(
        practitioner=paula,
        kind=ExceptionKind.EXTRA,
        start=clinic_start,
        end=min(
            clinic_start + dt.timedelta(hours=3), dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=PARIS)
        ),
        virtual=True,
        reason="Video clinic",
    )
    # Booked by the front desk early this morning, or an hour before a clinic opening before dawn.
    booking_now = min(dt.datetime.combine(today, dt.time(6), tzinfo=PARIS), clinic_start - dt.timedelta(hours=1))
    booked = []

    # The previous working day: a visit Paula held and wrote up; the note reaches the care manager.
    yesterday = _working_days(today - dt.timedelta(days=7), 10)
    yesterday = [d for d in yesterday if d < today][-1]
    pauls_team = [p for p in others if p.care_team.filter(user=paula.user).exists()] or others
    if pauls_team:
        held = _book(
            actor=front_desk,
            patient=pauls_team[0],
            practitioner=paula,
            service=services["follow-up"],
            day=yesterday,
            virtual=True,
            not_before="10:00",
            reason="Diabetes follow-up",
        )
        if held is not None:
            appointment_status_set(actor=paula.user, appointment=held, status="fulfilled", now=held.end + dt.timedelta(minutes=2))
            appointment_note_write(actor=paula.user, appointment=held, text=NOTE)
            booked.append(held)

    # Today, Paula's queue: Paul by video (intake and consent done: the link is ready), Petra by
    # video (intake not done yet), and two more patients.
    if not consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT):
        consent_sign(
            actor=paul.user,
            patient=paul,
            purpose=Purpose.VIRTUAL_VISIT,
            method="portal",
            signer_name=paul.full_name,
            ip_address="192.0.2.10",
            user_agent="Mozilla/5.0 (demo)",
        )
    visit = _book(
        actor=front_desk,
        patient=paul,
        practitioner=paula,
        service=services["consult"],
        day=today,
        virtual=True,
        not_before=f"{clinic_start:%H:%M}",
        reason="Dizzy spells in the morning since the new blood-pressure tablets",
        now=booking_now,
    )
    if visit is not None:
        appointment_intake_submit(
            actor=paul.user,
            appointment=visit,
            contact_phone=paul.phone,
            contact_email=paul.email,
            insurance_provider="Mutuelle Générale",
            insurance_member_id="MG-2231-0457",
            payment_reference="CB-PREAUTH-58213",
            answers={"symptoms": "Dizziness when standing up, mostly mornings", "since": "About ten days"},
            now=booking_now + dt.timedelta(minutes=30),
        )
        booked.append(visit)
    booked.append(
        _book(
            actor=front_desk,
            patient=petra,
            practitioner=paula,
            service=services["follow-up"],
            day=today,
            virtual=True,
            not_before=f"{clinic_start + dt.timedelta(minutes=30):%H:%M}",
            reason="Controllo dopo la visita del mese scorso",
            now=booking_now,
        )
    )
    for patient, minutes in zip(others[1:3], (60, 90), strict=False):
        if (clinic_start + dt.timedelta(minutes=minutes)).date() != today:
            continue  # a clinic opened late at night holds fewer visits before midnight
        booked.append(
            _book(
                actor=front_desk,
                patient=patient,
                practitioner=paula,
                service=services["consult"],
                day=today,
                virtual=True,
                not_before=f"{clinic_start + dt.timedelta(minutes=minutes):%H:%M}",
                now=booking_now,
                reason=rng.choice(["Persistent cough", "Blood pressure check", "Back pain", "Medication review"]),
            )
        )

    # The coming working days: Paul moves on to a video follow-up he books himself in the portal;
    # Petra sees Marco at the clinic; a few other patients fill Marco's and Claire's diaries.
    coming = _working_days(today + dt.timedelta(days=1), 4)
    booked.append(
        _book(
            actor=paul.user,
            patient=paul,
            practitioner=paula,
            service=services["follow-up"],
            day=coming[1],
            virtual=True,
            not_before="09:30",
            reason="Follow-up on the dizziness",
            channel="portal",
            now=now,
        )
    )
    booked.append(
        _book(
            actor=front_desk,
            patient=petra,
            practitioner=marco,
            service=services["consult"],
            day=coming[2],
            virtual=False,
            not_before="09:00",
            reason="Dolore al ginocchio",
            now=now,
        )
    )
    for n, patient in enumerate(others[3:9]):
        practitioner, service = [(marco, services["chronic-review"]), (claire, services["follow-up"])][n % 2]
        booked.append(
            _book(
                actor=front_desk,
                patient=patient,
                practitioner=practitioner,
                service=service,
                day=coming[n % len(coming)],
                virtual=service.in_person_allowed is False,
                not_before=["09:00", "10:30", "15:00"][n % 3],
                reason=rng.choice(["Annual review", "Diabetes follow-up", "Heart failure review", "Asthma review"]),
                now=now,
            )
        )
    return sum(1 for b in booked if b is not None)
