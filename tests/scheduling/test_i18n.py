"""Scheduling in the three languages: the admin's list of visits, the statuses (agreeing with the
visit in Italian), the practitioners' specialties, and the visits in the patient's data export."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from patients.models import Patient
from privacy.services.export import export_collect, export_pdf
from scheduling.models import AppointmentStatus, Practitioner
from scheduling.services import appointment_cancel
from tests.factories import FACT_FACTORIES

from ..privacy.test_privacy import pdf_text
from .conftest import at, book
from .test_privacy import pauls_visits  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/scheduling/appointment/"


@pytest.fixture(autouse=True)
def _language_restored():
    """Requests in French or Italian leave their language active on this thread: undo it."""
    yield
    translation.deactivate()


def _cells(page: str, column: str) -> list[str]:
    cells = re.findall(rf'<t[hd] class="field-{column}[^"]*">(.*?)</t[hd]>', page)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


@pytest.mark.parametrize(
    ("language", "when"),
    [("en", "14 Dec 2026, 09:30"), ("fr", "14/12/2026 09:30"), ("it", "14/12/2026 09:30")],
)
def test_the_admin_list_writes_times_as_the_staff_members_language_does(
    client, front_desk_fay, paul, practitioner_paula, service, language, when
):
    visit = book(
        front_desk_fay, paul, practitioner_paula, service, at(dt.date(2026, 12, 14), 9, 30), now=at(dt.date(2026, 12, 1), 9)
    )
    front_desk_fay.preferred_language = language
    front_desk_fay.save()
    client.force_login(front_desk_fay)
    page = client.get(CHANGELIST).content.decode()
    assert _cells(page, "when") == [when]
    assert "a.m." not in page and "p.m." not in page
    assert visit.pk


def test_italian_statuses_agree_with_the_visit_they_qualify(client, front_desk_fay):
    with translation.override("it"):
        labels = [str(label) for label in AppointmentStatus.labels]
    assert labels == ["Prenotata", "Paziente arrivato", "Effettuata", "Annullata", "Mancata presentazione"]
    front_desk_fay.preferred_language = "it"
    front_desk_fay.save()
    client.force_login(front_desk_fay)
    page = client.get(CHANGELIST).content.decode()
    assert "Annullata" in page and "Annullato" not in page


def test_french_statuses():
    with translation.override("fr"):
        assert [str(label) for label in AppointmentStatus.labels] == ["Réservé", "Patient arrivé", "Effectué", "Annulé", "Absent"]


def test_a_known_specialty_is_shown_in_the_readers_language_and_any_other_as_written(practitioner_paula):
    assert practitioner_paula.specialty == "General practice"
    for language, expected in (("en", "General practice"), ("fr", "Médecine générale"), ("it", "Medicina generale")):
        with translation.override(language):
            assert practitioner_paula.specialty_display == expected
    Practitioner.objects.filter(pk=practitioner_paula.pk).update(specialty="Médecine du sport")
    practitioner_paula.refresh_from_db()
    with translation.override("it"):
        assert practitioner_paula.specialty_display == "Médecine du sport"


def test_the_admin_list_of_practitioners_names_the_specialty_in_the_staff_members_language(
    client, front_desk_fay, practitioner_paula
):
    front_desk_fay.preferred_language = "fr"
    front_desk_fay.save()
    client.force_login(front_desk_fay)
    page = client.get("/admin/scheduling/practitioner/").content.decode()
    assert _cells(page, "specialty_label") == ["Médecine générale"]


def test_the_booking_pages_name_the_specialty_in_the_patients_language(client, petra, patient_petra, practitioner_paula, service):
    client.force_login(patient_petra)  # Petra reads Italian
    page = client.get(reverse("scheduling:book_practitioner", args=[service.pk]), {"mode": "virtual"}).content.decode()
    assert "Medicina generale" in page and "General practice" not in page


# --- the visits in the data export --------------------------------------------------------------

# What the export's appointments table and clinical sections hold, in each language; each must
# read whole in the PDF's text (a word cut across two lines of a narrow column would not).
EXPECTED = {
    "it": [
        "Appuntamenti",
        "Visite e ricoveri",
        "Problemi di salute",
        "Farmaci",
        "Procedure e interventi",
        "Vaccinazioni",
        "Prenotata tramite",
        "Addetto all’accettazione",
        "Effettuata",
        "Annullata",
        "Visita generale",
        "Cartella aperta il",
        "Ultima modifica",
        "Femminile",
        "attivo",  # the condition (problema)
        "attiva",  # the allergy and the prescription
        "eseguita",  # the procedure and the immunization
        "dicembre",
    ],
    "fr": [
        "Rendez-vous",
        "Visites et séjours hospitaliers",
        "Problèmes de santé",
        "Médicaments",
        "Actes et interventions",
        "Vaccinations",
        "Réservé via",
        "Agent d’accueil",
        "Effectué",
        "Annulé",
        "Consultation générale",
        "Dossier ouvert le",
        "Dernière modification",
        "actif",
        "réalisé",
        "réalisée",
        "décembre",
    ],
}
# English words the export showed before its headings and codes were translated.
ENGLISH = ["Encounters", "Conditions", "Medication requests", "Procedures", "Immunizations", "Created at", "Updated at"]
ENGLISH += ["Booked", "Fulfilled", "Cancelled", "active", "completed", "female", "Dicembre", "Novembre"]


@pytest.mark.parametrize("language", ["it", "fr"])
def test_the_export_pdf_is_in_the_patients_language_without_cut_words(
    pauls_visits,  # noqa: F811
    paul,
    front_desk_fay,
    language,
):
    past, coming, _petras = pauls_visits
    appointment_cancel(actor=front_desk_fay, appointment=coming, reason="Feeling better")
    for factory in FACT_FACTORIES.values():
        factory(patient=paul)
    Patient.objects.filter(pk=paul.pk).update(preferred_language=language, gender="female")
    paul.refresh_from_db()

    text = pdf_text(export_pdf(patient=paul, collected=export_collect(patient=paul), generated_at=timezone.now()))

    for words in EXPECTED[language]:
        assert words in text, f"{words!r} is missing or cut in the {language} export"
    for english in ENGLISH:
        if english == "active" and language == "fr":
            continue  # French writes an allergy "active" too
        assert not re.search(rf"\b{re.escape(english)}\b", text), f"{english!r} is left in English in the {language} export"
    assert past.pk and ".." not in text.replace("...", "")
