"""Pages look finished: the portal on a phone and the admin changelist, checked for layout and saved as screenshots.

Screenshots go to $SALUS_SCREENSHOT_DIR (default: <system temp dir>/salus-screenshots), never into the
repository, so that a person can look at them after a run.
"""

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from patients.models import Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 375


@pytest.fixture(scope="session")
def screenshot_dir():
    path = Path(os.environ.get("SALUS_SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "salus-screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


FORM_LAYOUT = """
(form) => [...form.querySelectorAll("input:not([type=hidden]), select, textarea")].map((el) => {
  const label = el.labels && el.labels[0];
  const box = el.getBoundingClientRect();
  const labelBox = label ? label.getBoundingClientRect() : null;
  return {
    name: el.name,
    label: label ? label.textContent.trim() : "",
    labelVisible: !!label && labelBox.width > 0 && labelBox.height > 0,
    labelAbove: !!label && labelBox.bottom <= box.top + 1,
    left: box.left,
    right: box.right,
    height: box.height,
  };
})
"""


def test_profile_page_on_a_phone(mobile_page, live_server, sign_in, patient_paul, screenshot_dir):
    Patient.objects.filter(user=patient_paul).update(preferred_language="en")  # pages in English
    page = mobile_page
    sign_in(page, "paul@example.org")
    page.goto(f"{live_server.url}/portal/profile/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My contact details")

    # The portal's stylesheet is served and applied.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(245, 247, 248)"
    # Nothing is wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH

    fields = page.locator("form.form").evaluate(FORM_LAYOUT)
    assert {f["name"] for f in fields} == {
        "email",
        "phone",
        "address_line",
        "postal_code",
        "city",
        "country",
        "preferred_language",
        "preferred_channel",
        "time_zone",
    }
    for field in fields:
        assert field["label"], f"{field['name']} has no label"
        assert field["labelVisible"] and field["labelAbove"], f"{field['name']}: label not shown above the field"
        assert field["left"] >= 0 and field["right"] <= PHONE_WIDTH, f"{field['name']} overflows the screen"
        # Comfortable to tap: at least 40 CSS pixels high.
        assert field["height"] >= 40, f"{field['name']} is too small to tap ({field['height']}px)"
    save = page.get_by_role("button", name="Save").bounding_box()
    assert save["x"] >= 0 and save["x"] + save["width"] <= PHONE_WIDTH and save["height"] >= 40

    page.screenshot(path=screenshot_dir / "portal-profile-mobile.png", full_page=True)

    page.get_by_label("Phone", exact=True).fill("abc")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#id_phone_error")
    expect(error).to_be_visible()
    phone_box = page.get_by_label("Phone", exact=True).bounding_box()
    error_box = error.bounding_box()
    # The message sits directly under its field, not at the top of the page.
    assert 0 <= error_box["y"] - (phone_box["y"] + phone_box["height"]) <= 40
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.screenshot(path=screenshot_dir / "portal-profile-mobile-error.png", full_page=True)


def test_home_and_sign_in_pages_on_a_phone(mobile_page, live_server, sign_in, patient_paul, screenshot_dir):
    Patient.objects.filter(user=patient_paul).update(preferred_language="en")  # pages in English
    page = mobile_page
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.screenshot(path=screenshot_dir / "sign-in-mobile.png", full_page=True)

    sign_in(page, "paul@example.org")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Paul")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.screenshot(path=screenshot_dir / "portal-home-mobile.png", full_page=True)


def test_admin_patient_changelist(browser, live_server, sign_in, care_manager_alice, paul, screenshot_dir):
    context = browser.new_context(locale="en-GB", viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, "alice@salus.test")
        page.goto(f"{live_server.url}/admin/patients/patient/")
        expect(page.locator("#result_list")).to_be_visible()
        # The admin's own stylesheets are served (a bare page would have a transparent header).
        assert page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor") not in (
            "",
            "rgba(0, 0, 0, 0)",
        )
        page.screenshot(path=screenshot_dir / "admin-patient-changelist.png", full_page=True)
    finally:
        context.close()
