"""The REST API: the role matrix, query budgets, bad input, the signed-in patient's /me/."""

import datetime as dt

import pytest
from django.urls import reverse

from patients.models import AccessLog, ClinicalNote, Patient

from .factories import FACT_FACTORIES, PatientFactory

pytestmark = pytest.mark.django_db

CLINICAL_KINDS = sorted(FACT_FACTORIES)


def ids(response):
    return {row["id"] for row in response.json()["results"]}


# --- which patients ------------------------------------------------------------------------


def test_patient_list_is_limited_to_the_care_team(api, care_manager_alice, paul, petra):
    response = api.as_user(care_manager_alice).get("/api/v1/patients/")
    assert response.status_code == 200
    assert ids(response) == {paul.pk}


def test_front_desk_and_admin_list_every_patient(api, front_desk_fay, admin_ada, paul, petra):
    assert ids(api.as_user(front_desk_fay).get("/api/v1/patients/")) == {paul.pk, petra.pk}
    assert ids(api.as_user(admin_ada).get("/api/v1/patients/")) == {paul.pk, petra.pk}


@pytest.mark.parametrize("who", ["outreach_olga", "event_planner_evan"])
def test_outreach_and_event_planners_open_no_patient(api, request, who, paul):
    client = api.as_user(request.getfixturevalue(who))
    assert ids(client.get("/api/v1/patients/")) == set()
    assert client.get(f"/api/v1/patients/{paul.pk}/").status_code == 404
    assert client.get(f"/api/v1/patients/{paul.pk}/notes/").status_code == 404


@pytest.mark.parametrize("who", ["care_manager_bob", "outreach_olga", "event_planner_evan", "patient_petra"])
def test_others_get_404_on_pauls_record_and_every_clinical_list(api, request, who, paul, patient_paul):
    client = api.as_user(request.getfixturevalue(who))
    assert client.get(f"/api/v1/patients/{paul.pk}/").status_code == 404
    assert client.patch(f"/api/v1/patients/{paul.pk}/", {"city": "Nice"}).status_code == 404
    for path in ["care-team", "notes", *CLINICAL_KINDS]:
        assert client.get(f"/api/v1/patients/{paul.pk}/{path}/").status_code == 404, path
    paul.refresh_from_db()
    assert paul.city != "Nice"
    assert not AccessLog.objects.exists()


def test_front_desk_sees_demographics_but_no_clinical_data(api, front_desk_fay, paul):
    FACT_FACTORIES["conditions"](patient=paul)
    client = api.as_user(front_desk_fay)
    assert client.get(f"/api/v1/patients/{paul.pk}/").status_code == 200
    assert client.get(f"/api/v1/patients/{paul.pk}/care-team/").status_code == 200
    for path in ["notes", *CLINICAL_KINDS]:
        assert client.get(f"/api/v1/patients/{paul.pk}/{path}/").status_code == 404, path


def test_patient_sees_only_themself_in_the_list(api, patient_paul, paul, petra):
    assert ids(api.as_user(patient_paul).get("/api/v1/patients/")) == {paul.pk}


def test_unauthenticated_requests_are_refused(api, paul):
    assert api.get("/api/v1/patients/").status_code in (401, 403)
    assert api.get("/api/v1/me/").status_code in (401, 403)


def test_a_bad_token_is_refused(api, paul):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/api/v1/patients/").status_code == 401


# --- reads are access-logged ---------------------------------------------------------------


@pytest.mark.parametrize("kind", CLINICAL_KINDS)
def test_care_manager_reads_clinical_facts_and_the_read_is_logged(api, care_manager_alice, paul, petra, kind):
    FACT_FACTORIES[kind](patient=paul)
    FACT_FACTORIES[kind](patient=petra)
    response = api.as_user(care_manager_alice).get(f"/api/v1/patients/{paul.pk}/{kind}/", HTTP_USER_AGENT="client/1.0")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.resource, log.channel, log.user_agent) == (
        care_manager_alice,
        paul,
        kind,
        "api",
        "client/1.0",
    )


def test_retrieve_writes_an_access_log_row(api, provider_paula, paul):
    assert api.as_user(provider_paula).get(f"/api/v1/patients/{paul.pk}/").status_code == 200
    assert AccessLog.objects.filter(actor=provider_paula, patient=paul, resource="record", channel="api").count() == 1


# --- query budgets -------------------------------------------------------------------------


def _grow(paul, n):
    for _ in range(n):
        PatientFactory()
        for kind in CLINICAL_KINDS:
            FACT_FACTORIES[kind](patient=paul)


@pytest.mark.parametrize("n", [1, 15])
def test_patient_list_query_budget_does_not_grow(api, front_desk_fay, django_assert_num_queries, paul, n):
    _grow(paul, n)
    client = api.as_user(front_desk_fay)
    # 1 token + user, 2 user's global permissions (user + group perms), 3 count, 4 page
    with django_assert_num_queries(5):
        assert client.get("/api/v1/patients/").status_code == 200


@pytest.mark.parametrize("n", [1, 15])
def test_care_manager_list_query_budget_does_not_grow(api, care_manager_alice, django_assert_num_queries, paul, admin_ada, n):
    from patients.services import care_team_member_add

    for _ in range(n):
        care_team_member_add(actor=admin_ada, patient=PatientFactory(), user=care_manager_alice, role="care_manager")
    client = api.as_user(care_manager_alice)
    # 1 token + user, 2-3 global permissions (user, groups), 4 role names, 5 count, 6 page
    with django_assert_num_queries(6):
        response = client.get("/api/v1/patients/")
    assert response.json()["count"] == n + 1


@pytest.mark.parametrize("kind", [*CLINICAL_KINDS, "notes", "care-team"])
def test_clinical_lists_query_budget_does_not_grow(
    api, care_manager_alice, provider_paula, django_assert_num_queries, paul, kind
):
    from patients.services import clinical_note_create

    client = api.as_user(care_manager_alice)
    client.get(f"/api/v1/patients/{paul.pk}/{kind}/")  # the first read also starts the access log's hash chain
    counts = []
    for _ in range(2):
        for _ in range(5):
            if kind == "notes":
                clinical_note_create(actor=provider_paula, patient=paul, text="Seen.")
            elif kind != "care-team":
                FACT_FACTORIES[kind](patient=paul)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/patients/{paul.pk}/{kind}/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], f"queries grew with rows: {counts}"


# --- writes and bad input ------------------------------------------------------------------


def test_front_desk_registers_a_patient(api, front_desk_fay):
    response = api.as_user(front_desk_fay).post(
        "/api/v1/patients/",
        {
            "mrn": "API-1",
            "given_name": "Léa",
            "family_name": "Roux",
            "birth_date": "1985-04-12",
            "gender": "female",
            "preferred_language": "fr",
        },
    )
    assert response.status_code == 201, response.json()
    patient = Patient.objects.get(mrn="API-1")
    assert patient.history.get().history_user == front_desk_fay


def test_care_manager_cannot_register_patients(api, care_manager_alice):
    response = api.as_user(care_manager_alice).post(
        "/api/v1/patients/", {"mrn": "API-2", "given_name": "A", "family_name": "B", "birth_date": "1985-04-12"}
    )
    assert response.status_code == 403
    assert not Patient.objects.filter(mrn="API-2").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"given_name": "A", "family_name": "B", "birth_date": "1985-04-12"}, "mrn"),
        ({"mrn": "X1", "given_name": "A", "family_name": "B", "birth_date": "12/31/1985"}, "birth_date"),
        ({"mrn": "X1", "given_name": "A", "family_name": "B", "birth_date": "1985-02-30"}, "birth_date"),
        ({"mrn": "X1", "given_name": "A", "family_name": "B", "birth_date": "1985-01-01", "gender": "robot"}, "gender"),
        ({"mrn": "X1", "given_name": "A" * 500, "family_name": "B", "birth_date": "1985-01-01"}, "given_name"),
        (
            {"mrn": "X1", "given_name": "A", "family_name": "B", "birth_date": "1985-01-01", "time_zone": "Europe/Atlantis"},
            "time_zone",
        ),
        ({"mrn": "X1", "given_name": "A", "family_name": "B", "birth_date": "1985-01-01", "active": "maybe"}, "active"),
        ({"mrn": "X1", "given_name": ["A"], "family_name": "B", "birth_date": "1985-01-01"}, "given_name"),
        (
            {"mrn": "X1", "given_name": "A", "family_name": "B", "birth_date": "1985-01-01", "deceased_at": "yesterday"},
            "deceased_at",
        ),
    ],
)
def test_bad_patient_payloads_get_400_naming_the_field(api, front_desk_fay, payload, field):
    response = api.as_user(front_desk_fay).post("/api/v1/patients/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Patient.objects.exists()


def test_duplicate_mrn_is_400_on_mrn(api, front_desk_fay, paul):
    payload = {"mrn": paul.mrn, "given_name": "A", "family_name": "B", "birth_date": "1985-01-01"}
    response = api.as_user(front_desk_fay).post("/api/v1/patients/", payload, format="json")
    assert response.status_code == 400 and "mrn" in response.json()


@pytest.mark.parametrize(
    "query", ["gender=robot", "birth_date=notadate", "born_after=2020-13-01", "active=perhaps", "preferred_language=de"]
)
def test_bad_filters_get_400_naming_the_filter(api, front_desk_fay, query):
    response = api.as_user(front_desk_fay).get(f"/api/v1/patients/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_not_json_body_is_400(api, front_desk_fay):
    response = api.as_user(front_desk_fay).generic("POST", "/api/v1/patients/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_care_manager_updates_demographics_of_her_patient(api, care_manager_alice, paul):
    response = api.as_user(care_manager_alice).patch(f"/api/v1/patients/{paul.pk}/", {"city": "Lyon"}, format="json")
    assert response.status_code == 200 and response.json()["city"] == "Lyon"


def test_provider_cannot_update_demographics(api, provider_paula, paul):
    response = api.as_user(provider_paula).patch(f"/api/v1/patients/{paul.pk}/", {"city": "Lyon"}, format="json")
    assert response.status_code == 403
    paul.refresh_from_db()
    assert paul.city != "Lyon"


def test_care_team_add_and_end_through_the_api(api, care_manager_alice, care_manager_bob, paul):
    client = api.as_user(care_manager_alice)
    response = client.post(
        f"/api/v1/patients/{paul.pk}/care-team/", {"user": care_manager_bob.pk, "role": "nurse"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert client.get(f"/api/v1/patients/{paul.pk}/care-team/").json()["count"] == 3
    assert api.as_user(care_manager_bob).get(f"/api/v1/patients/{paul.pk}/").status_code == 200

    member_id = response.json()["id"]
    assert api.as_user(care_manager_alice).post(f"/api/v1/care-team/{member_id}/end/", {}, format="json").status_code == 200
    assert api.as_user(care_manager_bob).get(f"/api/v1/patients/{paul.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"role": "care_manager"}, "user"),
        ({"user": 999999, "role": "nurse"}, "user"),
        ({"user": 1, "role": "wizard"}, "role"),
        ({"user": "x", "role": "nurse"}, "user"),
    ],
)
def test_bad_care_team_input(api, care_manager_alice, paul, payload, field):
    response = api.as_user(care_manager_alice).post(f"/api/v1/patients/{paul.pk}/care-team/", payload, format="json")
    assert response.status_code == 400 and field in response.json()


def test_end_of_someone_elses_membership_is_404(api, care_manager_alice, petra):
    member = petra.care_team.get()
    assert api.as_user(care_manager_alice).post(f"/api/v1/care-team/{member.pk}/end/", {}, format="json").status_code == 404


def test_notes_write_and_review(api, provider_paula, care_manager_alice, paul):
    response = api.as_user(provider_paula).post(
        f"/api/v1/patients/{paul.pk}/notes/", {"text": "Follow-up in 2 weeks."}, format="json"
    )
    assert response.status_code == 201
    note_id = response.json()["id"]
    assert api.as_user(provider_paula).post(f"/api/v1/notes/{note_id}/review/").status_code == 403
    review = api.as_user(care_manager_alice).post(f"/api/v1/notes/{note_id}/review/")
    assert review.status_code == 200 and review.json()["reviewed_by"]["id"] == care_manager_alice.pk


@pytest.mark.parametrize("payload", [{}, {"text": ""}, {"text": "x" * 20001}, {"text": "ok", "encounter": "abc"}])
def test_bad_note_input_is_400(api, provider_paula, paul, payload):
    response = api.as_user(provider_paula).post(f"/api/v1/patients/{paul.pk}/notes/", payload, format="json")
    assert response.status_code == 400
    assert not ClinicalNote.objects.exists()


def test_note_on_another_patients_encounter_is_refused(api, provider_paula, paul, petra):
    encounter = FACT_FACTORIES["encounters"](patient=petra)
    response = api.as_user(provider_paula).post(
        f"/api/v1/patients/{paul.pk}/notes/", {"text": "x", "encounter": encounter.pk}, format="json"
    )
    assert response.status_code == 400 and "encounter" in response.json()


def test_clinical_filters_and_bad_dates(api, care_manager_alice, paul):
    FACT_FACTORIES["observations"](patient=paul, code="8867-4")
    FACT_FACTORIES["observations"](patient=paul, code="59408-5")
    client = api.as_user(care_manager_alice)
    assert client.get(f"/api/v1/patients/{paul.pk}/observations/?code=59408-5").json()["count"] == 1
    assert client.get(f"/api/v1/patients/{paul.pk}/observations/?since=2100-01-01T00:00:00Z").json()["count"] == 0
    bad = client.get(f"/api/v1/patients/{paul.pk}/observations/?since=yesterday")
    assert bad.status_code == 400 and "since" in bad.json()


# --- /me/ ----------------------------------------------------------------------------------


def test_me_returns_the_patients_own_record_and_logs_it(api, patient_paul, paul):
    response = api.as_user(patient_paul).get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["mrn"] == paul.mrn
    assert AccessLog.objects.filter(patient=paul, actor=patient_paul).count() == 1


def test_me_updates_contact_details_only(api, patient_paul, paul):
    client = api.as_user(patient_paul)
    response = client.patch("/api/v1/me/", {"phone": "+33 7 11 22 33 44", "preferred_language": "it"}, format="json")
    assert response.status_code == 200
    paul.refresh_from_db()
    assert (paul.phone, paul.preferred_language) == ("+33 7 11 22 33 44", "it")
    old_birth = paul.birth_date
    response = client.patch("/api/v1/me/", {"birth_date": "2001-01-01", "mrn": "HACK"}, format="json")
    paul.refresh_from_db()
    assert paul.birth_date == old_birth and paul.mrn == "MRN-PAUL"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"email": "nope"}, "email"),
        ({"time_zone": "Nowhere/City"}, "time_zone"),
        ({"phone": "1" * 40}, "phone"),
    ],
)
def test_me_bad_input(api, patient_paul, paul, payload, field):
    response = api.as_user(patient_paul).patch("/api/v1/me/", payload, format="json")
    assert response.status_code == 400 and field in response.json()


def test_me_for_staff_is_404(api, care_manager_alice):
    assert api.as_user(care_manager_alice).get("/api/v1/me/").status_code == 404


# --- schema and docs -----------------------------------------------------------------------


def test_openapi_schema_and_docs_are_served(client, admin_ada):
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 200
    assert b"/api/v1/patients/" in schema.content
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_birth_date_in_the_future_is_refused(api, front_desk_fay):
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    response = api.as_user(front_desk_fay).post(
        "/api/v1/patients/", {"mrn": "F1", "given_name": "A", "family_name": "B", "birth_date": tomorrow}, format="json"
    )
    assert response.status_code == 400 and "birth_date" in response.json()
