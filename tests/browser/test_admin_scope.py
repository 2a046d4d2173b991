"""Care managers in the admin, in a real browser: their changelist holds only their care-team patients."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_care_manager_sees_only_her_care_team_patients(page, live_server, sign_in, care_manager_alice, paul, petra):
    sign_in(page, "alice@salus.test")
    expect(page).to_have_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/patients/patient/")
    results = page.locator("#result_list")
    expect(results.get_by_role("link", name="MRN-PAUL")).to_be_visible()
    expect(results).not_to_contain_text("MRN-PETRA")
    expect(results).not_to_contain_text("Colombo")
    expect(page.locator(".paginator")).to_contain_text("1 patient")

    # Searching for Bob's patient by name finds nothing either.
    page.locator("#searchbar").fill("Colombo")
    page.locator("#changelist-search").get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"\?q=Colombo$"))
    expect(page.locator("#result_list")).to_have_count(0)
    expect(page.locator(".paginator")).to_contain_text("0 patients")

    # Her own patient opens; Bob's answers 404, as if it did not exist.
    response = page.goto(f"{live_server.url}/admin/patients/patient/{paul.pk}/change/")
    assert response.status == 200
    expect(page.get_by_role("heading", name="LEFÈVRE, Paul (MRN-PAUL)")).to_be_visible()
    response = page.goto(f"{live_server.url}/admin/patients/patient/{petra.pk}/change/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Colombo")


def test_other_care_manager_sees_his_own_patients(page, live_server, sign_in, care_manager_bob, paul, petra):
    """The same changelist for Bob: Petra is there (the filter above hides rows, the rows exist)."""
    sign_in(page, "bob@salus.test")
    page.goto(f"{live_server.url}/admin/patients/patient/")
    results = page.locator("#result_list")
    expect(results.get_by_role("link", name="MRN-PETRA")).to_be_visible()
    expect(results).not_to_contain_text("MRN-PAUL")
    response = page.goto(f"{live_server.url}/admin/patients/patient/{paul.pk}/change/")
    assert response.status == 404
