"""The admin's sections and the lists in them are named in the staff member's language."""

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
        "scheduling": "Agenda",
    },
    "it": {
        "accounts": "Account e ruoli",
        "notifications": "Notifiche e coda di invio",
        "patients": "Pazienti",
        "consent": "Consensi",
        "scheduling": "Agenda",
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


SALUS_APPS = {"accounts", "audit", "notifications", "patients", "consent", "scheduling", "privacy", "careplans", "outreach"}


def test_every_salus_model_in_the_admin_names_its_plural():
    """Without its own plural a model's list is its singular plus "s" in every language ("Appuntamentos")."""
    from django.contrib import admin

    models = [m for m in admin.site._registry if m._meta.app_label in SALUS_APPS]
    assert models
    missing = [m.__name__ for m in models if "verbose_name_plural" not in m._meta.original_attrs]
    assert missing == []
    for model in models:
        inlines = [inline.model for inline in admin.site._registry[model].inlines]
        missing += [m.__name__ for m in inlines if "verbose_name_plural" not in m._meta.original_attrs]
    assert missing == []


@pytest.mark.parametrize(
    ("language", "plurals"),
    [
        ("it", ["Appuntamenti", "Consensi", "Professionisti", "Note cliniche"]),
        ("fr", ["Rendez-vous", "Consentements", "Praticiens", "Notes cliniques"]),
    ],
)
def test_the_admin_index_lists_them_in_the_plural(client, admin_ada, language, plurals):
    admin_ada.preferred_language = language
    admin_ada.save()
    client.force_login(admin_ada)
    page = client.get("/admin/").content.decode()
    for plural in plurals:
        assert f">{plural}</a>" in page, plural
    for wrong in ("Appuntamentos", "Consensos", "Nota clinicas", "Notificas", "Luogos"):
        assert wrong not in page


@pytest.mark.parametrize(
    ("language", "labels", "english"),
    [
        ("it", ["Prenotata da:", "Prenotata tramite:"], ["Booked by", "Cancelled by"]),
        ("fr", ["Réservé par", "Réservé via"], ["Booked by", "Cancelled by"]),
    ],
)
def test_the_appointment_page_names_every_field(client, admin_ada, paul, language, labels, english):
    import datetime as dt

    from tests.factories import ServiceFactory, practitioner_with_week
    from tests.scheduling.conftest import at, book

    service = ServiceFactory()
    practitioner = practitioner_with_week(service=service)
    today = dt.date.today()
    monday = today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)
    visit = book(admin_ada, paul, practitioner, service, at(monday, 9))
    admin_ada.preferred_language = language
    admin_ada.save()
    client.force_login(admin_ada)
    page = client.get(f"/admin/scheduling/appointment/{visit.pk}/change/").content.decode()
    for label in labels:
        assert label in page, label
    for words in english:
        assert words not in page, words


@pytest.mark.parametrize(
    ("language", "labels"),
    [("it", ["Cartella aperta il", "Ultima modifica"]), ("fr", ["Dossier ouvert le", "Dernière modification"])],
)
def test_the_patient_page_names_when_the_record_was_opened_and_changed(client, admin_ada, paul, language, labels):
    admin_ada.preferred_language = language
    admin_ada.save()
    client.force_login(admin_ada)
    page = client.get(f"/admin/patients/patient/{paul.pk}/change/").content.decode()
    for label in labels:
        assert label in page, label
    assert "Created at" not in page and "Updated at" not in page
