"""A patient books a video visit in a real browser: service, practitioner, a free time, the
intake, the virtual-visit consent, then the appointment page with the join link."""

import datetime as dt
import os
import re
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from patients.models import Patient
from scheduling.models import Appointment
from tests.consent.conftest import virtual_visit_v1  # noqa: F401 - a fixture, re-exported
from tests.factories import LocationFactory, ServiceFactory, practitioner_with_week

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 375


@pytest.fixture
def service(db):
    return ServiceFactory()


@pytest.fixture
def practitioner_paula(provider_paula, service):
    location = LocationFactory(phone="+33 1 23 45 67 89")
    return practitioner_with_week(user=provider_paula, service=service, location=location, display_name="Dr Paula Test")


@pytest.fixture
def monday(db) -> dt.date:
    """A Monday at least a week ahead: every time of its week can be booked."""
    today = timezone.localdate()
    return today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)


@pytest.fixture
def paul_in_english(patient_paul, paul):
    Patient.objects.filter(pk=paul.pk).update(preferred_language="en")
    return patient_paul


@pytest.fixture(scope="session")
def screenshot_dir():
    path = Path(os.environ.get("SALUS_SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "salus-screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _go_to_week_of(page, day: dt.date):
    """Page through the weeks with "Next week" until the day's free times are shown."""
    heading = page.get_by_role("heading", level=3, name=f"{day:%A} {day.day} {day:%B}", exact=True)
    for _ in range(10):
        if heading.count():
            return page.locator(".day", has=heading)
        page.get_by_role("link", name=re.compile("Next week")).click()
    raise AssertionError(f"no week shows {day}")


@pytest.mark.usefixtures("virtual_visit_v1")
def test_patient_books_a_video_visit_completes_intake_signs_consent_and_sees_the_join_link(
    page, live_server, sign_in, paul_in_english, paul, practitioner_paula, service, monday
):
    sign_in(page, "paul@example.org")
    page.get_by_role("navigation").get_by_role("link", name="My appointments").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
    expect(page.get_by_text("You have no upcoming visit.")).to_be_visible()
    page.get_by_role("link", name="Book a visit").first.click()

    # the service
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a visit")
    page.get_by_role("link", name="Choose “General consultation”").click()

    # the practitioner, video visits only; specialty and languages are shown
    page.get_by_label("By video").check()
    page.get_by_role("button", name="Show").click()
    card = page.locator(f"#practitioner-{practitioner_paula.pk}")
    expect(card).to_contain_text("General practice")
    expect(card).to_contain_text("English, French")
    card.get_by_role("link", name="See free times").click()

    # a free time on Monday morning
    expect(page.get_by_role("heading", level=1)).to_have_text("General consultation")
    monday_times = _go_to_week_of(page, monday)
    monday_times.get_by_role("link", name=re.compile(r"^09:30")).click()

    # the confirmation: a morning time is for video visits only
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your visit")
    expect(page.locator("form.form")).to_contain_text("Video visit")
    expect(page.locator("form.form")).to_contain_text("09:30–10:00")
    page.get_by_label("Reason for the visit").fill("A cough that will not go away")
    page.get_by_role("button", name="Book this visit").click()

    # the intake, contact details prefilled from the record
    expect(page.get_by_role("heading", level=1)).to_have_text("Before your visit")
    expect(page.get_by_role("status")).to_contain_text("Your visit is booked.")
    expect(page.get_by_label("Email", exact=True)).to_have_value("paul@example.org")
    page.get_by_label("Health insurer").fill("CPAM")
    page.get_by_label("Insurance member number").fill("1 85 07 75 123 456 78")
    page.get_by_label("Payment reference").fill("4111 1111 1111 1111")
    page.get_by_role("button", name="Save and continue").click()
    # a card number is refused beside its field
    expect(page.locator("#id_payment_reference_error")).to_contain_text("Do not enter a card number")
    page.get_by_label("Payment reference").fill("PAY-2026-0042")
    page.get_by_label("What would you like to talk about?").fill("Cough for two weeks")
    page.get_by_role("button", name="Save and continue").click()

    # the virtual-visit consent, which returns to the visit once signed (no id in its address)
    expect(page).to_have_url(re.compile(r"/portal/consents/sign/virtual_visit/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Virtual visits")
    page.get_by_label("Type your full name").fill("Paul Lefèvre")
    page.get_by_label("I have read and agree").check()
    page.get_by_role("button", name="Sign").click()

    appointment = Appointment.objects.get(patient=paul)
    expect(page).to_have_url(f"{live_server.url}/portal/appointments/{appointment.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your visit")
    expect(page.locator(".badge")).to_have_text("Booked")
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    assert download.value.suggested_filename == f"appointment-{appointment.pk}.ics"

    page.get_by_role("link", name="Join the video visit").click()
    expect(page).to_have_url(f"{live_server.url}/portal/appointments/{appointment.pk}/visit/")
    join = page.get_by_role("link", name="Join the video visit")
    expect(join).to_have_attribute("href", f"https://meet.jit.si/{appointment.video_room}")

    appointment.refresh_from_db()
    assert appointment.virtual and appointment.intake_complete and appointment.reason == "A cough that will not go away"
    assert appointment.payment_reference == "PAY-2026-0042"


def test_free_times_on_a_phone(mobile_page, live_server, sign_in, paul_in_english, practitioner_paula, service, screenshot_dir):
    page = mobile_page
    sign_in(page, "paul@example.org")
    page.goto(f"{live_server.url}/portal/appointments/book/{service.pk}/?practitioner={practitioner_paula.pk}")
    expect(page.locator(".slots").first).to_be_visible()
    # Nothing is wider than the phone, and the times sit three to a row, each large enough to tap.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    boxes = (
        page.locator(".slots").first.locator("a").evaluate_all("(links) => links.map((a) => a.getBoundingClientRect().toJSON())")
    )
    assert all(box["height"] >= 40 and box["right"] <= PHONE_WIDTH for box in boxes)
    assert len({round(box["top"]) for box in boxes[:3]}) == 1 or len(boxes) < 3
    page.screenshot(path=str(screenshot_dir / "portal-booking-times-phone.png"), full_page=True)
