"""Consent REST API: staff on the patients they may open, patients on their own consents (/me/)."""

import hashlib

import pytest
import schemathesis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from consent.models import Consent, ConsentLedgerEntry, Purpose
from consent.selectors import consent_is_active
from consent.services import consent_sign, consent_withdraw
from patients.models import AccessLog

from .conftest import TEXTS

pytestmark = pytest.mark.django_db

OTHERS = ["care_manager_bob", "outreach_olga", "event_planner_evan", "patient_petra", "patient_paul"]


def _sign(patient, purpose=Purpose.VIRTUAL_VISIT, **kw):
    return consent_sign(
        actor=kw.pop("actor", patient.user),
        patient=patient,
        purpose=purpose,
        method="portal",
        signer_name=patient.full_name,
        **kw,
    )


def staff_url(patient):
    return f"/api/v1/patients/{patient.pk}/consents/"


# --- staff -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["care_manager_alice", "provider_paula", "front_desk_fay", "admin_ada"])
def test_staff_who_may_open_the_patient_list_consents_and_the_read_is_logged(
    api, request, who, paul, patient_paul, virtual_visit_v1
):
    consent = _sign(paul)
    user = request.getfixturevalue(who)
    response = api.as_user(user).get(staff_url(paul), HTTP_USER_AGENT="curl")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["id"], row["purpose"], row["status"], row["method"], row["version"]) == (
        consent.pk,
        "virtual_visit",
        "active",
        "portal",
        1,
    )
    assert row["receipt_url"].endswith(f"/portal/consents/{consent.pk}/receipt/")
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.resource, log.channel) == (user, paul, "consents", "api")


@pytest.mark.parametrize("who", OTHERS)
def test_others_get_404_on_a_patients_consents_and_change_nothing(
    api, request, who, paul, patient_paul, virtual_visit_v1, marketing_email_v1
):
    consent = _sign(paul)
    client = api.as_user(request.getfixturevalue(who))
    assert client.get(staff_url(paul)).status_code == 404
    response = client.post(staff_url(paul), {"purpose": "marketing_email", "method": "api", "signer_name": "Paul Lefèvre"})
    assert response.status_code == 404
    assert client.post(f"/api/v1/consents/{consent.pk}/withdraw/", {"reason": "x"}).status_code == 404
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert not consent_is_active(patient=paul, purpose=Purpose.MARKETING_EMAIL)
    assert not AccessLog.objects.exists()


def test_staff_record_an_in_person_consent_as_its_witness(api, care_manager_alice, paul, virtual_visit_v1):
    response = api.as_user(care_manager_alice).post(
        staff_url(paul),
        {"purpose": "virtual_visit", "method": "in_person", "signer_name": "Paul Lefèvre", "language": "it"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 201, response.json()
    consent = Consent.objects.get(pk=response.json()["id"])
    assert (consent.method, consent.witness, consent.recorded_by, consent.language) == (
        "in_person",
        care_manager_alice,
        care_manager_alice,
        "it",
    )
    assert consent.text_sha256 == hashlib.sha256(TEXTS["it"].encode()).hexdigest()
    assert consent.ip_address == "203.0.113.9"
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)


def test_staff_record_an_api_consent_without_witness(api, front_desk_fay, paul, virtual_visit_v1):
    response = api.as_user(front_desk_fay).post(
        staff_url(paul), {"purpose": "virtual_visit", "method": "api", "signer_name": "Paul Lefèvre"}
    )
    assert response.status_code == 201
    consent = Consent.objects.get()
    assert (consent.method, consent.witness, consent.language) == ("api", None, "fr")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"method": "in_person", "signer_name": "Paul"}, "purpose"),
        ({"purpose": "telepathy", "method": "in_person", "signer_name": "Paul"}, "purpose"),
        ({"purpose": "research", "method": "in_person", "signer_name": "Paul"}, "purpose"),  # no text in force
        ({"purpose": "virtual_visit", "method": "paper", "signer_name": "Paul"}, "method"),
        ({"purpose": "virtual_visit", "method": "portal", "signer_name": "Paul"}, "method"),
        ({"purpose": "virtual_visit", "method": "in_person"}, "signer_name"),
        ({"purpose": "virtual_visit", "method": "in_person", "signer_name": "   "}, "signer_name"),
        ({"purpose": "virtual_visit", "method": "in_person", "signer_name": "x" * 201}, "signer_name"),
        ({"purpose": "virtual_visit", "method": "in_person", "signer_name": "Paul", "language": "de"}, "language"),
        ({"purpose": "virtual_visit", "method": "in_person", "signer_name": "Paul", "expires_at": "tomorrow"}, "expires_at"),
        (
            {"purpose": "virtual_visit", "method": "in_person", "signer_name": "Paul", "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
        ),
        ({"purpose": "virtual_visit", "method": "in_person", "signer_name": "Paul", "version": 999999}, "version"),
        ({"purpose": ["virtual_visit"], "method": "in_person", "signer_name": "Paul"}, "purpose"),
    ],
)
def test_staff_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    api, care_manager_alice, paul, virtual_visit_v1, payload, field
):
    response = api.as_user(care_manager_alice).post(staff_url(paul), payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Consent.objects.exists() and not ConsentLedgerEntry.objects.exists()


def test_staff_record_a_representatives_signature(api, care_manager_alice, paul, virtual_visit_v1):
    response = api.as_user(care_manager_alice).post(
        staff_url(paul),
        {"purpose": "virtual_visit", "method": "in_person", "signer_name": "Marie Lefèvre", "representative_capacity": "parent"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["signer_name"], body["representative_name"], body["representative_capacity"]) == (
        "Marie Lefèvre",
        "Marie Lefèvre",
        "parent",
    )


def test_a_typed_name_that_is_not_the_patients_is_a_400_on_the_signer_name(api, care_manager_alice, paul, virtual_visit_v1):
    response = api.as_user(care_manager_alice).post(
        staff_url(paul), {"purpose": "virtual_visit", "method": "in_person", "signer_name": "Someone Else"}
    )
    assert response.status_code == 400 and list(response.json()) == ["signer_name"]
    assert not Consent.objects.exists() and not ConsentLedgerEntry.objects.exists()


def test_a_second_active_consent_for_the_same_purpose_is_a_400(api, care_manager_alice, paul, patient_paul, virtual_visit_v1):
    first = _sign(paul)
    response = api.as_user(care_manager_alice).post(
        staff_url(paul), {"purpose": "virtual_visit", "method": "api", "signer_name": "Paul Lefèvre"}
    )
    assert response.status_code == 400 and "purpose" in response.json()
    assert list(Consent.objects.values_list("pk", flat=True)) == [first.pk]


def test_staff_withdraw_a_consent_with_a_reason(api, care_manager_alice, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    client = api.as_user(care_manager_alice)
    response = client.post(f"/api/v1/consents/{consent.pk}/withdraw/", {"reason": "Asked by phone"})
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert not consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    consent.refresh_from_db()
    assert (consent.withdrawn_by, consent.withdrawal_reason) == (care_manager_alice, "Asked by phone")
    again = client.post(f"/api/v1/consents/{consent.pk}/withdraw/", {})
    assert again.status_code == 400 and "status" in again.json()
    assert client.post(f"/api/v1/consents/{consent.pk}/withdraw/", {"reason": "r" * 501}).status_code == 400
    assert client.post("/api/v1/consents/99999999999999999999/withdraw/", {}).status_code == 404


# --- the signed-in patient -------------------------------------------------------------------


def test_patient_lists_only_their_own_consents(api, paul, petra, patient_paul, patient_petra, virtual_visit_v1):
    mine = _sign(paul)
    _sign(petra)
    response = api.as_user(patient_paul).get("/api/v1/me/consents/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert AccessLog.objects.get().resource == "consents"


def test_patient_reads_the_texts_left_to_sign_then_signs_through_the_api(
    api, paul, patient_paul, virtual_visit_v1, marketing_email_v1
):
    _sign(paul, purpose=Purpose.MARKETING_EMAIL)
    client = api.as_user(patient_paul)
    offers = client.get("/api/v1/me/consents/available/").json()
    assert [o["purpose"] for o in offers] == ["virtual_visit"]
    offer = offers[0]
    assert (offer["language"], offer["text"]) == ("fr", TEXTS["fr"])
    response = client.post(
        "/api/v1/me/consents/",
        {"purpose": "virtual_visit", "signer_name": "Paul Lefèvre", "version": offer["version_id"], "language": "fr"},
        HTTP_USER_AGENT="SalusApp/2",
        REMOTE_ADDR="192.0.2.44",
    )
    assert response.status_code == 201, response.json()
    consent = Consent.objects.get(pk=response.json()["id"])
    assert (consent.method, consent.user_agent, consent.ip_address, consent.text_sha256) == (
        "api",
        "SalusApp/2",
        "192.0.2.44",
        offer["text_sha256"],
    )
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert client.get("/api/v1/me/consents/available/").json() == []
    assert client.get("/api/v1/me/consents/available/", {"language": "de"}).status_code == 400


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"signer_name": "Paul"}, "purpose"),
        ({"purpose": "nope", "signer_name": "Paul"}, "purpose"),
        ({"purpose": "virtual_visit"}, "signer_name"),
        ({"purpose": "virtual_visit", "signer_name": ""}, "signer_name"),
        ({"purpose": "virtual_visit", "signer_name": "x" * 201}, "signer_name"),
        ({"purpose": "virtual_visit", "signer_name": "Paul", "version": "one"}, "version"),
        ({"purpose": "virtual_visit", "signer_name": "Paul", "version": 2**40}, "version"),
        ({"purpose": "virtual_visit", "signer_name": "Paul", "language": "xx"}, "language"),
        ({"purpose": "virtual_visit", "signer_name": "Someone Else"}, "signer_name"),
        (
            {"purpose": "virtual_visit", "signer_name": "Marie Lefèvre", "representative_capacity": "friend"},
            "representative_capacity",
        ),
        (
            {"purpose": "virtual_visit", "signer_name": "Marie Lefèvre", "representative_capacity": ["parent"]},
            "representative_capacity",
        ),
    ],
)
def test_patient_bad_input_is_a_400_naming_the_field(api, paul, patient_paul, virtual_visit_v1, payload, field):
    response = api.as_user(patient_paul).post("/api/v1/me/consents/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Consent.objects.exists()


def test_patient_withdraws_their_own_consent_only(api, paul, petra, patient_paul, patient_petra, virtual_visit_v1):
    mine, theirs = _sign(paul), _sign(petra)
    client = api.as_user(patient_paul)
    assert client.post(f"/api/v1/me/consents/{theirs.pk}/withdraw/", {"reason": "x"}).status_code == 404
    assert consent_is_active(patient=petra, purpose=Purpose.VIRTUAL_VISIT)
    response = client.post(f"/api/v1/me/consents/{mine.pk}/withdraw/", {"reason": "Changed my mind"})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert not consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)


@pytest.mark.parametrize("who", ["care_manager_alice", "front_desk_fay", "outreach_olga", "event_planner_evan", "admin_ada"])
def test_staff_have_no_me_consents(api, request, who, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    client = api.as_user(request.getfixturevalue(who))
    assert client.get("/api/v1/me/consents/").status_code == 404
    assert client.get("/api/v1/me/consents/available/").status_code == 404
    assert client.post("/api/v1/me/consents/", {"purpose": "virtual_visit", "signer_name": "x"}).status_code == 404
    assert client.post(f"/api/v1/me/consents/{consent.pk}/withdraw/", {}).status_code == 404
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)


def test_anonymous_calls_are_refused(api, paul):
    assert api.get(staff_url(paul)).status_code == 401
    assert api.get("/api/v1/me/consents/").status_code == 401


# --- query budgets ---------------------------------------------------------------------------


def _grow(paul, actor):
    for purpose in (Purpose.VIRTUAL_VISIT, Purpose.MARKETING_EMAIL):
        consent_withdraw(actor=actor, consent=_sign(paul, purpose=purpose, actor=actor))


@pytest.mark.parametrize("who", ["care_manager_alice", "patient_paul"])
def test_list_queries_do_not_grow_with_consents(api, request, who, paul, patient_paul, virtual_visit_v1, marketing_email_v1):
    user = request.getfixturevalue(who)
    client = api.as_user(user)
    url = "/api/v1/me/consents/" if who == "patient_paul" else staff_url(paul)
    _grow(paul, patient_paul)
    client.get(url)  # the first read also starts the access log's hash chain
    counts = []
    for _ in range(2):
        _grow(paul, patient_paul)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        counts.append((len(ctx.captured_queries), len(response.json()["results"])))
    assert counts[0][0] == counts[1][0], counts
    assert counts[1][1] > counts[0][1]


# --- fuzzed from the schema, with texts in force so that signing can succeed -----------------

consent_schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application).include(path_regex="consents")


@pytest.fixture
def consent_tokens(care_manager_alice, paul, patient_paul, virtual_visit_v1, marketing_email_v1):
    from rest_framework.authtoken.models import Token

    _sign(paul, purpose=Purpose.MARKETING_EMAIL)
    return [Token.objects.get_or_create(user=user)[0].key for user in (care_manager_alice, patient_paul)]


@consent_schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_consent_endpoints_never_answer_a_server_error(case, consent_tokens):
    for token in consent_tokens:
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=[not_a_server_error])
