"""A care team's patient list: the list entries that order and search it, and the grants they belong to.

Given the standard cast (see conftest): Alice is care manager of Paul Lefèvre (MRN-PAUL), Bob of Petra
Colombo (MRN-PETRA); Fay at the front desk sees every patient.
"""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db import connection
from guardian.shortcuts import remove_perm

from patients.models import PatientListEntry, PatientUserObjectPermission
from patients.selectors import patient_search_q, patients_for_user, patients_search
from patients.services import care_team_member_add, care_team_member_end, patient_update
from tests.factories import PatientFactory

LIST = "/api/v1/patients/"


def _names(user):
    return [(p.family_name, p.given_name) for p in patients_for_user(user=user)]


def _entry_names(user):
    return sorted(PatientListEntry.objects.filter(user=user).values_list("family_name", "given_name"))


@pytest.fixture
def alices_list(paul, admin_ada, care_manager_alice):
    """Alice's patients beyond Paul, with names that order and search in several ways."""
    patients = {
        "martin": PatientFactory(family_name="Martin", given_name="Zoé", birth_date=dt.date(1970, 5, 4)),
        "martin_anne": PatientFactory(family_name="Martin", given_name="Anne"),
        "abel": PatientFactory(family_name="Abel", given_name="Martha"),
        "zola": PatientFactory(family_name="Zola", given_name="Émile", mrn="MART"),
    }
    for patient in patients.values():
        care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="care_manager")
    # Not Alice's: only the front desk finds her.
    patients["other"] = PatientFactory(family_name="Martinez", given_name="Ana", birth_date=dt.date(1970, 5, 4))
    return patients


def test_joining_the_care_team_puts_the_patient_on_the_list_with_the_grant(paul, care_manager_alice):
    entry = PatientListEntry.objects.get(user=care_manager_alice, patient=paul)
    assert (entry.family_name, entry.given_name) == (paul.family_name, paul.given_name)
    assert entry.grant.permission.codename == "view_patient"
    assert (entry.grant.user_id, entry.grant.content_object_id) == (care_manager_alice.pk, paul.pk)


def test_the_list_is_in_name_order_and_follows_a_change_of_name(alices_list, paul, care_manager_alice, admin_ada):
    assert _names(care_manager_alice) == [
        ("Abel", "Martha"),
        ("Lefèvre", "Paul"),
        ("Martin", "Anne"),
        ("Martin", "Zoé"),
        ("Zola", "Émile"),
    ]
    patient_update(actor=admin_ada, patient=alices_list["zola"], changes={"family_name": "Aaron"})
    assert _names(care_manager_alice)[0] == ("Aaron", "Émile")
    assert _entry_names(care_manager_alice)[0] == ("Aaron", "Émile")


def test_leaving_the_care_team_takes_the_patient_off_the_list(alices_list, paul, care_manager_alice, admin_ada):
    member = paul.care_team.get(user=care_manager_alice, period_end__isnull=True)
    care_team_member_end(actor=admin_ada, member=member)
    assert ("Lefèvre", "Paul") not in _names(care_manager_alice)
    assert not PatientListEntry.objects.filter(user=care_manager_alice, patient=paul).exists()


def test_an_entry_goes_with_its_grant_whichever_way_the_grant_goes(paul, care_manager_alice):
    # The object permission removed outside the care-team services (guardian's own API).
    remove_perm("patients.view_patient", care_manager_alice, paul)
    assert not PatientListEntry.objects.filter(user=care_manager_alice).exists()
    assert list(patients_for_user(user=care_manager_alice)) == []


def test_a_grant_without_an_entry_shows_nothing_rather_than_everything(paul, care_manager_alice):
    PatientListEntry.objects.filter(user=care_manager_alice).delete()
    assert PatientUserObjectPermission.objects.filter(user=care_manager_alice).exists()
    assert list(patients_for_user(user=care_manager_alice)) == []


@pytest.mark.parametrize("q", ["mart", "MART", "martin zo", "zoé martin", "lef", "mrn-paul", "1970-05-04", "abel", "x", "ana"])
def test_a_care_team_search_matches_what_the_record_search_matches(alices_list, paul, care_manager_alice, q):
    mine = patients_for_user(user=care_manager_alice)
    found = list(patients_search(user=care_manager_alice, queryset=mine, query=q).values_list("pk", flat=True))
    expected = set(mine.filter(patient_search_q(q)).values_list("pk", flat=True))
    assert len(found) == len(set(found)) and set(found) == expected, q
    assert alices_list["other"].pk not in found


def test_a_care_team_search_through_the_api_in_search_order(api, alices_list, care_manager_alice):
    response = api.as_user(care_manager_alice).get(LIST, {"q": "mart"})
    assert response.status_code == 200, response.content
    assert [(r["family_name"], r["given_name"]) for r in response.json()["results"]] == [
        ("Abel", "Martha"),
        ("Martin", "Anne"),
        ("Martin", "Zoé"),
        ("Zola", "Émile"),  # MRN "MART"
    ]
    assert response.json()["count"] == 4


def test_entries_are_made_for_the_grants_already_there(paul, petra, care_manager_alice, care_manager_bob, provider_paula):
    # The migration that brings the list in fills it from the existing grants, set-based.
    PatientListEntry.objects.all().delete()
    migration = importlib.import_module("patients.migrations.0008_patient_list_entry")

    class _Editor:
        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    migration.list_entries_from_grants(apps, _Editor())
    entries = {(e.user, e.patient, e.family_name, e.grant.permission.codename) for e in PatientListEntry.objects.all()}
    assert entries == {
        (care_manager_alice, paul, "Lefèvre", "view_patient"),
        (provider_paula, paul, "Lefèvre", "view_patient"),
        (care_manager_bob, petra, "Colombo", "view_patient"),
    }
    assert _names(care_manager_alice) == [("Lefèvre", "Paul")]
