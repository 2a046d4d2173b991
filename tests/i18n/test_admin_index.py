"""The admin's sections are named in the staff member's language."""

import pytest
from django.apps import apps
from django.utils import translation

pytestmark = pytest.mark.django_db

SECTIONS = {
    "fr": {
        "accounts": "Comptes et rôles",
        "notifications": "Notifications et file d’envoi",
        "patients": "Patients",
        "consent": "Consentements",
        "scheduling": "Rendez-vous",
    },
    "it": {
        "accounts": "Account e ruoli",
        "notifications": "Notifiche e coda di invio",
        "patients": "Pazienti",
        "consent": "Consensi",
        "scheduling": "Appuntamenti",
    },
}


@pytest.mark.parametrize("language", ["fr", "it"])
def test_every_salus_app_is_named_in_the_language(language):
    with translation.override(language):
        names = {label: str(apps.get_app_config(label).verbose_name) for label in SECTIONS[language]}
    assert names == SECTIONS[language]


@pytest.mark.parametrize("language", ["fr", "it"])
def test_the_admin_index_shows_them(client, admin_ada, language):
    admin_ada.preferred_language = language
    admin_ada.save()
    client.force_login(admin_ada)
    page = client.get("/admin/").content.decode()
    for name in SECTIONS[language].values():
        assert f">{name}<" in page or f"{name}</a>" in page, name
    for english in ("Accounts and roles", "Notifications and outbox", ">Scheduling<", ">Consent<"):
        assert english not in page
