"""A patient in the portal, in a real browser: sign-in, language switcher, editing their contact details."""

import re

import pytest
from playwright.sync_api import expect

from patients.models import Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def switch_language(page, current_label, language_code):
    """Use the header's language switcher, labelled in the page's current language."""
    switcher = page.locator("form.lang")
    switcher.get_by_label(current_label, exact=True).select_option(language_code)
    switcher.get_by_role("button").click()
    expect(page.locator("html")).to_have_attribute("lang", language_code)


def test_patient_signs_in_switches_language_and_edits_contact_details(page, live_server, sign_in, patient_paul, paul):
    sign_in(page, "paul@example.org")
    expect(page).to_have_url(f"{live_server.url}/portal/")
    # The portal opens in Paul's own language (French, from his record), whatever the browser says.
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue, Paul")
    nav = page.get_by_role("navigation")

    switch_language(page, "Langue", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Paul")
    expect(nav.get_by_role("link", name="My details")).to_be_visible()

    switch_language(page, "Language", "it")
    expect(page).to_have_url(f"{live_server.url}/portal/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ti diamo il benvenuto, Paul")
    expect(nav.get_by_role("link", name="I miei dati")).to_be_visible()
    expect(nav.get_by_role("link", name="Esci")).to_be_visible()
    expect(page.get_by_text("Numero di cartella clinica")).to_be_visible()

    switch_language(page, "Lingua", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue, Paul")
    expect(page.get_by_text("Numéro de dossier médical")).to_be_visible()
    expect(page.locator(".site-footer")).to_contain_text("Votre dossier de santé, vos rendez-vous, votre équipe de soins.")

    nav.get_by_role("link", name="Mes informations").click()
    expect(page).to_have_url(f"{live_server.url}/portal/profile/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes coordonnées")
    expect(page.get_by_role("group", name="Comment vous joindre")).to_be_visible()

    page.get_by_label("Téléphone", exact=True).fill("+33 6 98 76 54 32")
    page.get_by_label("Adresse", exact=True).fill("12 rue des Lilas")
    page.get_by_label("Code postal", exact=True).fill("69003")
    page.get_by_label("Ville", exact=True).fill("Lyon")
    page.get_by_label("Pays", exact=True).fill("fr")
    page.get_by_role("button", name="Enregistrer").click()

    expect(page).to_have_url(f"{live_server.url}/portal/profile/")
    expect(page.get_by_role("status")).to_have_text("Vos coordonnées ont été enregistrées.")
    # The form shows what was stored (the country code upper-cased), not what was typed.
    expect(page.get_by_label("Pays", exact=True)).to_have_value("FR")

    paul.refresh_from_db()
    assert (paul.phone, paul.address_line, paul.postal_code, paul.city, paul.country) == (
        "+33 6 98 76 54 32",
        "12 rue des Lilas",
        "69003",
        "Lyon",
        "FR",
    )
    latest = paul.history.order_by("-history_id").first()
    assert latest.history_type == "~"
    assert latest.history_user == patient_paul
    assert latest.phone == "+33 6 98 76 54 32"
    assert latest.city == "Lyon"


def test_invalid_contact_details_show_errors_beside_the_fields_and_change_nothing(page, live_server, sign_in, patient_paul, paul):
    before = Patient.objects.values().get(pk=paul.pk)
    history_rows = paul.history.count()

    sign_in(page, "paul@example.org")
    expect(page.locator("html")).to_have_attribute("lang", "fr")  # Paul's own language
    page.goto(f"{live_server.url}/portal/profile/")

    phone = page.get_by_label("Téléphone", exact=True)
    country = page.get_by_label("Pays", exact=True)
    phone.fill("abc")
    country.fill("F1")
    page.get_by_label("Ville", exact=True).fill("Lyon")
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_role("alert")).to_contain_text("Veuillez corriger les champs signalés ci-dessous.")
    # Each error sits right under its own field, and the field points to it for screen readers.
    phone_field = page.locator(".field", has=page.locator("#id_phone"))
    expect(phone_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(phone_field.locator(".field-errors")).to_have_text(
        "Saisissez un numéro de téléphone\u00a0: des chiffres, des espaces et éventuellement un + au début."
    )
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_attribute("aria-describedby", re.compile(r"\bid_phone_error\b"))
    country_field = page.locator(".field", has=page.locator("#id_country"))
    expect(country_field.locator(".field-errors")).to_have_text("Saisissez un code pays à deux lettres, par ex. FR.")
    expect(country).to_have_attribute("aria-invalid", "true")
    # Fields without a mistake are not flagged, and what the patient typed is kept for correction.
    expect(page.locator(".field.has-error")).to_have_count(2)
    expect(phone).to_have_value("abc")
    expect(page.get_by_label("Ville", exact=True)).to_have_value("Lyon")

    assert Patient.objects.values().get(pk=paul.pk) == before
    assert paul.history.count() == history_rows


def test_signed_out_visitor_is_sent_to_sign_in(page, live_server, patient_paul):
    page.goto(f"{live_server.url}/portal/profile/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/portal/profile/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")
    # Accounts are opened by the hospital: no sign-up link on the sign-in page.
    expect(page.get_by_role("link", name=re.compile("sign up", re.IGNORECASE))).to_have_count(0)


def test_wrong_password_is_refused_with_a_message(page, live_server, patient_paul):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("paul@example.org")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")


def test_country_typed_as_a_name_is_refused_not_cut_short(page, live_server, sign_in, patient_paul, paul):
    Patient.objects.filter(pk=paul.pk).update(preferred_language="en")
    sign_in(page, "paul@example.org")
    page.goto(f"{live_server.url}/portal/profile/")
    page.get_by_label("Country", exact=True).press_sequentially("Germany")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    paul.refresh_from_db()
    assert paul.country == ""
    expect(page.locator("#id_country_error")).to_have_text("Enter a two-letter country code, e.g. FR.")
