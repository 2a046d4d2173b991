"""The booking, provider and front-desk pages at a phone's width (390 px) and a desk's (1280 px):
nothing wider than the phone on the portal, a week of the calendar in one row at the desk, and
screenshots saved for a person to look at ($SALUS_SCREENSHOT_DIR, default <tmp>/salus-screenshots)."""

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone

from consent.models import ConsentMethod, Purpose
from consent.services import consent_sign
from patients.models import Patient
from patients.services import clinical_note_create
from scheduling.models import Appointment
from scheduling.services import appointment_book, appointment_cancel, appointment_intake_submit
from tests.consent.conftest import virtual_visit_v1  # noqa: F401 - a fixture, re-exported
from tests.factories import (
    AllergyFactory,
    LocationFactory,
    MedicationRequestFactory,
    ObservationFactory,
    ServiceFactory,
    practitioner_with_week,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1280)


@pytest.fixture(scope="session")
def screenshot_dir():
    path = Path(os.environ.get("SALUS_SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "salus-screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def scene(db, patient_paul, paul, provider_paula, front_desk_fay, care_manager_alice, virtual_visit_v1):  # noqa: F811
    """Paul with a video visit with Paula soon (inside the notice), one next week, one cancelled;
    Paula and Piet seeing patients; a note waiting for Alice."""
    Patient.objects.filter(pk=paul.pk).update(preferred_language="en")
    service = ServiceFactory(cancellation_notice_hours=24 * 12)
    location = LocationFactory(phone="+33 1 23 45 67 89")
    paula = practitioner_with_week(user=provider_paula, service=service, location=location, display_name="Dr Paula Test")
    from accounts.roles import Role
    from tests.conftest import _user

    piet_user = _user("piet@salus.test", Role.PROVIDER, "Piet")
    practitioner_with_week(user=piet_user, service=service, location=location, display_name="Dr Piet Test")
    today = timezone.localdate()
    monday = today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)
    paris = paula.time_zone

    def at(day, hour, minute=0):
        from zoneinfo import ZoneInfo

        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(paris))

    visit = appointment_book(
        actor=front_desk_fay,
        patient=paul,
        practitioner=paula,
        service=service,
        start=at(monday, 9, 30),
        virtual=True,
        channel="admin",
    )
    appointment_intake_submit(
        actor=patient_paul,
        appointment=visit,
        contact_phone="+33 6 12 34 56 78",
        contact_email="",
        insurance_provider="MGEN",
        insurance_member_id="FR-1",
    )
    consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method=ConsentMethod.PORTAL, signer_name="Paul Lefèvre"
    )
    cancelled = appointment_book(
        actor=front_desk_fay,
        patient=paul,
        practitioner=paula,
        service=service,
        start=at(monday, 10, 30),
        virtual=True,
        channel="admin",
    )
    appointment_cancel(actor=front_desk_fay, appointment=cancelled)
    ObservationFactory(
        patient=paul,
        code="85354-9",
        display="Blood pressure panel with all children optional",
        value_quantity=None,
        value_unit="",
        components=[{"code": "8480-6", "value": 128, "unit": "mm[Hg]"}, {"code": "8462-4", "value": 82, "unit": "mm[Hg]"}],
    )
    ObservationFactory(patient=paul, value_quantity="91.0000")
    AllergyFactory(patient=paul, criticality="high")
    MedicationRequestFactory(patient=paul, display="Lisinopril 10 MG Oral Tablet", dosage_text="10 mg once daily")
    note = clinical_note_create(actor=provider_paula, patient=paul, text="Seen by video. BP fine.")
    from core.actors import SystemActor
    from notifications.models import OutboxItem
    from notifications.services import outbox_deliver

    for item in OutboxItem.objects.filter(channel="in_app"):
        outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk)
    return {"service": service, "paula": paula, "monday": monday, "visit": visit, "cancelled": cancelled, "note": note}


def _shoot(browser, live_server, sign_in, screenshot_dir, email, pages, *, portal: bool):
    from tests.browser.conftest import _new_page

    for width in WIDTHS:
        context, page = _new_page(browser, viewport={"width": width, "height": 900})
        sign_in(page, email)
        for name, path in pages:
            response = page.goto(f"{live_server.url}{path}")
            assert response.status < 500, (name, response.status)
            page.screenshot(path=str(screenshot_dir / f"booking-{name}-{width}.png"), full_page=True)
            if portal and width == 390:
                assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        context.close()


def test_portal_booking_pages(browser, live_server, sign_in, scene, screenshot_dir):
    service, monday, visit, cancelled = scene["service"], scene["monday"], scene["visit"], scene["cancelled"]
    pages = [
        ("home", "/portal/"),
        ("practitioners", f"/portal/appointments/book/{service.pk}/practitioners/"),
        ("slots", f"/portal/appointments/book/{service.pk}/?practitioner={scene['paula'].pk}&week={monday.isoformat()}"),
        ("slots-any", f"/portal/appointments/book/{service.pk}/?practitioner=any&week={monday.isoformat()}"),
        (
            "confirm",
            f"/portal/appointments/book/{service.pk}/confirm/?practitioner={scene['paula'].pk}&start={(visit.start + dt.timedelta(hours=5)).astimezone(dt.UTC).isoformat().replace('+', '%2B')}",
        ),
        ("list", "/portal/appointments/"),
        ("visit", f"/portal/appointments/{visit.pk}/"),
        ("cancelled-video", f"/portal/appointments/{cancelled.pk}/visit/"),
        ("intake", f"/portal/appointments/{visit.pk}/intake/"),
        ("consent", f"/portal/appointments/{visit.pk}/consent/"),
    ]
    _shoot(browser, live_server, sign_in, screenshot_dir, "paul@example.org", pages, portal=True)


def test_staff_pages(browser, live_server, sign_in, scene, screenshot_dir):
    monday = scene["monday"]
    _shoot(
        browser,
        live_server,
        sign_in,
        screenshot_dir,
        "paula@salus.test",
        [("queue", f"/admin/scheduling/appointment/queue/?day={monday.isoformat()}")],
        portal=False,
    )
    _shoot(
        browser,
        live_server,
        sign_in,
        screenshot_dir,
        "fay@salus.test",
        [
            ("calendar-all", f"/admin/scheduling/appointment/calendar/?view=all&day={monday.isoformat()}"),
            (
                "calendar-week",
                f"/admin/scheduling/appointment/calendar/?practitioner={scene['paula'].pk}&day={monday.isoformat()}",
            ),
        ],
        portal=False,
    )
    _shoot(
        browser,
        live_server,
        sign_in,
        screenshot_dir,
        "alice@salus.test",
        [
            ("notifications", "/admin/notifications/notification/"),
            ("note", f"/admin/patients/clinicalnote/{scene['note'].pk}/change/"),
            ("patient", f"/admin/patients/patient/{scene['visit'].patient_id}/change/"),
        ],
        portal=False,
    )


def test_locked_warning_is_read_before_the_book_button(browser, live_server, sign_in, scene):
    from tests.browser.conftest import _new_page

    start = scene["visit"].start + dt.timedelta(hours=5)
    context, page = _new_page(browser, viewport={"width": 390, "height": 900})
    sign_in(page, "paul@example.org")
    page.goto(
        f"{live_server.url}/portal/appointments/book/{scene['service'].pk}/confirm/"
        f"?practitioner={scene['paula'].pk}&start={start.astimezone(dt.UTC).isoformat().replace('+', '%2B')}"
    )
    warning = page.locator("#locked-warning").bounding_box()
    button = page.get_by_role("button", name="Book this visit").bounding_box()
    context.close()
    assert warning and button and warning["y"] + warning["height"] <= button["y"]


def test_calendar_week_is_one_row_at_the_desk(browser, live_server, sign_in, scene):
    from tests.browser.conftest import _new_page

    context, page = _new_page(browser, viewport={"width": 1280, "height": 900})
    sign_in(page, "fay@salus.test")
    page.goto(
        f"{live_server.url}/admin/scheduling/appointment/calendar/?practitioner={scene['paula'].pk}&day={scene['monday'].isoformat()}"
    )
    tops = page.locator(".cal-day").evaluate_all("(days) => days.map((d) => Math.round(d.getBoundingClientRect().top))")
    context.close()
    assert len(tops) == 7 and len(set(tops)) == 1
    assert Appointment.objects.exists()
