"""Every portal page in English, French and Italian, on a phone (390 px), a laptop (1280 px) and a
wide screen (1600 px): saved as screenshots under var/screenshots/ (or $SALUS_SCREENSHOT_DIR) for a
person to look at, and checked for what a screenshot shows at a glance: no sideways scrolling, the
page's language declared, no English left on a French or Italian page, and the "My details" card
readable (values on their line, not one letter per line).
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from consent.models import Purpose
from consent.services import consent_sign
from patients.models import Patient
from patients.services import access_log_record
from privacy.services import privacy_export_request
from tests.consent.conftest import marketing_email_v1, virtual_visit_v1  # noqa: F401 - fixtures, re-exported
from tests.factories import LocationFactory, ServiceFactory, practitioner_with_week
from tests.scheduling.conftest import at, book

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1280, 1600)
LANGUAGES = ("en", "fr", "it")
# Words of the English pages that a French or Italian page must not show (whole words, as written).
ENGLISH_ONLY = (
    "Welcome",
    "Sign out",
    "My appointments",
    "My details",
    "Book a visit",
    "Booked",
    "Cancelled",
    "Save",
    "Monday",
    "Tuesday",
    "January",
    "December",
    "General practice",
    "Successfully",
    "a.m.",
    "p.m.",
)
PAGE_FACTS = """() => ({
  lang: document.documentElement.lang,
  scrollWidth: document.scrollingElement.scrollWidth,
  innerWidth: window.innerWidth,
  text: document.body.innerText,
})"""
# Each value of the "My details" card: its width, its height and the height of one of its lines.
DETAILS_VALUES = """() => [...document.querySelectorAll("dl.facts dd")].map((dd) => {
  const box = dd.getBoundingClientRect();
  return {text: dd.innerText, width: box.width, height: box.height, line: parseFloat(getComputedStyle(dd).lineHeight)};
})"""


@pytest.fixture(scope="session")
def screenshot_dir():
    path = Path(os.environ.get("SALUS_SCREENSHOT_DIR", Path(settings.BASE_DIR) / "var" / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def pauls_portal(paul, patient_paul, provider_paula, care_manager_alice, front_desk_fay, virtual_visit_v1, marketing_email_v1):  # noqa: F811
    """Paul with something on every page: a coming video visit, a signed consent, a data export asked
    for, a read of his record by his care manager."""
    import datetime as dt

    from django.utils import timezone

    Patient.objects.filter(pk=paul.pk).update(address_line="12 rue de la République", postal_code="69002", city="Lyon")
    service = ServiceFactory()
    practitioner = practitioner_with_week(
        user=provider_paula, service=service, location=LocationFactory(), display_name="Dr Paula Test"
    )
    today = timezone.localdate()
    monday = today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)
    visit = book(patient_paul, paul, practitioner, service, at(monday, 9), channel="portal", reason="Check-up")
    consent = consent_sign(
        actor=care_manager_alice,
        patient=paul,
        purpose=Purpose.VIRTUAL_VISIT,
        method="in_person",
        signer_name=paul.full_name,
        witness=care_manager_alice,
    )
    privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
    access_log_record(actor=care_manager_alice, patient=paul, resource="record", channel="admin")
    return {"service": service, "visit": visit, "consent": consent}


def _portal_pages(page, live_server, data) -> dict[str, str]:
    """Every page a patient reaches, by name; the booking steps' addresses are read from the pages
    before them, as a person follows the links."""
    visit, service = data["visit"], data["service"]
    pages = {
        "home": reverse("portal:home"),
        "profile": reverse("portal:profile"),
        "access-log": reverse("portal:access_log"),
        "consents": reverse("consent:list"),
        "consent-sign": reverse("consent:sign", args=[Purpose.MARKETING_EMAIL]),
        "consent-withdraw": reverse("consent:withdraw", args=[data["consent"].pk]),
        "consent-verify": reverse("consent:verify"),
        "appointments": reverse("scheduling:list"),
        "book-service": reverse("scheduling:book"),
        "book-practitioner": reverse("scheduling:book_practitioner", args=[service.pk]),
        "appointment": reverse("scheduling:appointment", args=[visit.pk]),
        "intake": reverse("scheduling:intake", args=[visit.pk]),
        "reschedule": reverse("scheduling:reschedule", args=[visit.pk]),
        "cancel": reverse("scheduling:cancel", args=[visit.pk]),
        "visit": reverse("scheduling:visit", args=[visit.pk]),
        "privacy": reverse("privacy:home"),
    }
    page.goto(live_server.url + pages["book-practitioner"])
    pages["book-slot"] = page.locator(".choices a.button").first.get_attribute("href")
    page.goto(live_server.url + pages["book-slot"])
    pages["book-confirm"] = page.locator("a.slot").first.get_attribute("href")
    return pages


def _english_left(text: str) -> list[str]:
    return [word for word in ENGLISH_ONLY if re.search(rf"(?<![\w.]){re.escape(word)}(?![\w])", text)]


def test_every_portal_page_in_every_language_and_width(browser, live_server, sign_in, paul, pauls_portal, screenshot_dir):
    problems = []
    for language in LANGUAGES:
        Patient.objects.filter(pk=paul.pk).update(preferred_language=language)
        context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris", viewport={"width": WIDTHS[0], "height": 900})
        page = context.new_page()
        sign_in(page, "paul@example.org")
        pages = _portal_pages(page, live_server, pauls_portal)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for name, path in pages.items():
                response = page.goto(live_server.url + path)
                assert response is not None and response.ok, f"{name}: {response and response.status}"
                facts = page.evaluate(PAGE_FACTS)
                page.screenshot(path=screenshot_dir / f"{language}-{width}-{name}.png", full_page=True)
                where = f"{language} {width}px {name} ({page.url.removeprefix(live_server.url)})"
                if facts["lang"] != language:
                    problems.append(f"{where}: <html lang={facts['lang']!r}>")
                if facts["scrollWidth"] > facts["innerWidth"]:
                    problems.append(f"{where}: {facts['scrollWidth']}px wide in a {facts['innerWidth']}px window")
                if language != "en" and (left := _english_left(facts["text"])):
                    problems.append(f"{where}: English left: {left}")
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_my_details_values_stay_on_their_line(browser, live_server, sign_in, paul, patient_paul, language, width):
    Patient.objects.filter(pk=paul.pk).update(preferred_language=language, phone="+33 6 12 34 56 78")
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris", viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, "paul@example.org")
    expect(page).to_have_url(f"{live_server.url}{reverse('portal:home')}")
    values = {v["text"]: v for v in page.evaluate(DETAILS_VALUES)}
    context.close()
    for text in ("MRN-PAUL", "paul@example.org", "+33 6 12 34 56 78"):
        value = values[text]
        # One line, and wide enough for it: not "M R N" stacked letter by letter.
        assert value["height"] <= value["line"] * 1.5, f"{text!r} wraps onto {value['height'] / value['line']:.0f} lines"
