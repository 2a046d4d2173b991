"""Property: whatever a patient's history of signing, withdrawing, time passing (past expiries),
the expiry sweep run or not, and signing again, every judge of consent agrees with the rule as the
README states it — `consent_is_active`, the SQL filter `consent_active_filter`, the portal's
consents list and sign pages, `/api/v1/me/consents/`, `/api/v1/patients/{id}/consents/` and the
admin consent list.

The rule, stated here independently of the code: a consent is in force at `at` when it was signed
at or before `at`, not withdrawn at or before `at`, and not expired at or before `at`. Once out of
force it reads as whichever ended it first (a withdrawal before the expiry: withdrawn).

Time is moved explicitly: the code's only clock is `django.utils.timezone.now`, patched here to
the history's clock.
"""

import datetime as dt
import re
from dataclasses import dataclass
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from consent.models import Consent, ConsentStatus, Purpose
from consent.selectors import (
    consent_active_filter,
    consent_effective_status,
    consent_is_active,
    consents_for_patient,
)
from consent.services import consent_sign, consent_withdraw, consents_expire_due
from core.actors import SystemActor
from patients.models import Patient

pytestmark = pytest.mark.django_db

PURPOSES = (Purpose.VIRTUAL_VISIT, Purpose.MARKETING_EMAIL)
START = dt.datetime(2027, 1, 4, 8, 0, tzinfo=dt.UTC)  # both texts (in force from 2026-01-01) can be signed
TICK = dt.timedelta(microseconds=1)
ADMIN_LIST = "/admin/consent/consent/"


# --- the model: what the README says ---------------------------------------------------------


@dataclass
class Row:
    pk: int
    purpose: str
    signed_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None = None
    swept: bool = False

    def status_at(self, at: dt.datetime) -> str | None:
        if self.signed_at > at:
            return None
        withdrawn = self.withdrawn_at is not None and self.withdrawn_at <= at
        expired = self.expires_at is not None and self.expires_at <= at
        if not (withdrawn or expired):
            return ConsentStatus.ACTIVE
        if expired and not (self.withdrawn_at is not None and self.withdrawn_at < self.expires_at):
            return ConsentStatus.EXPIRED
        return ConsentStatus.WITHDRAWN

    @property
    def stored_active(self) -> bool:
        """What the row's status column says: only withdrawal and the sweep change it."""
        return self.withdrawn_at is None and not self.swept


def model_active(rows: list[Row], purpose: str, at: dt.datetime) -> bool:
    return any(r.status_at(at) == ConsentStatus.ACTIVE for r in rows if r.purpose == purpose)


# --- histories ---------------------------------------------------------------------------------

durations = st.one_of(
    st.sampled_from([TICK, dt.timedelta(seconds=1), dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(days=30)]),
    st.integers(min_value=1, max_value=10 * 86_400_000_000).map(lambda us: dt.timedelta(microseconds=us)),
)
purposes = st.sampled_from(PURPOSES)
actions = st.one_of(
    st.tuples(st.just("sign"), purposes, st.one_of(st.none(), durations)),  # a validity, or none
    st.tuples(st.just("withdraw"), purposes),  # the purpose's latest consent
    st.tuples(st.just("wait"), durations),  # time passes, past expiries or not
    st.tuples(st.just("sweep")),  # the periodic task marks what is due
)
# Each action, and whether the pages are looked at right after it (they always are at the end):
# every page costs requests, so not after every step.
steps = st.lists(st.tuples(actions, st.booleans()), min_size=1, max_size=6)


# --- what the pages and endpoints show ---------------------------------------------------------


def _list_statuses(page: str) -> dict[int, str]:
    return {
        int(pk): status
        for pk, status in re.findall(r'<li class="card" id="consent-(\d+)">.*?class="status status-(\w+)"', page, re.S)
    }


def _admin_statuses(page: str) -> dict[int, str]:
    return {
        int(pk): label.strip()
        for pk, label in re.findall(r'name="_selected_action" value="(\d+)".*?class="field-shown_status">([^<]*)<', page, re.S)
    }


def _check_now(*, now, rows, patient, patient_user, staff_user, client, patient_api, staff_api):
    """Every judge and every page, at the history's clock."""
    expected = {r.pk: r.status_at(now) for r in rows}

    for purpose in PURPOSES:
        active = model_active(rows, purpose, now)
        assert consent_is_active(patient=patient, purpose=purpose) is active, purpose
        assert consent_is_active(patient=patient, purpose=purpose, at=now) is active, purpose
        assert Patient.objects.filter(consent_active_filter(purpose=purpose), pk=patient.pk).exists() is active, purpose

    # The portal: a session opened at the history's clock (time may have moved past a stale one).
    client.force_login(patient_user)
    response = client.get("/portal/consents/")
    assert response.status_code == 200
    page = response.content.decode()
    assert _list_statuses(page) == expected
    for pk, status in expected.items():
        assert (f"/portal/consents/{pk}/withdraw/" in page) is (status == ConsentStatus.ACTIVE), pk
    offered = {o["purpose"] for o in response.context["offers"]}
    assert offered == {p for p in PURPOSES if not model_active(rows, p, now)}
    for purpose in PURPOSES:
        response = client.get(f"/portal/consents/sign/{purpose}/")
        assert response.context["already_active"] is model_active(rows, purpose, now), purpose
        assert ('class="card form"' in response.content.decode()) is not model_active(rows, purpose, now), purpose

    # The API, as the patient and as a care manager on the patient's care team.
    for api, url in ((patient_api, "/api/v1/me/consents/"), (staff_api, f"/api/v1/patients/{patient.pk}/consents/")):
        response = api.get(url)
        assert response.status_code == 200, url
        assert {c["id"]: c["status"] for c in response.json()["results"]} == expected, url

    # The admin list, in the staff member's language, and its status filter.
    client.force_login(staff_user)
    response = client.get(ADMIN_LIST)
    assert response.status_code == 200
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        labels = {pk: str(ConsentStatus(status).label) for pk, status in expected.items()}
    assert _admin_statuses(response.content.decode()) == labels
    filtered = client.get(ADMIN_LIST, {"status": ConsentStatus.ACTIVE}).context["cl"].result_list
    assert {c.pk for c in filtered} == {pk for pk, status in expected.items() if status == ConsentStatus.ACTIVE}


def _check_history(*, rows, patient, instants):
    """The Python rule, the SQL filter and the effective status at any moment, past ones included."""
    for at in instants:
        for purpose in PURPOSES:
            active = model_active(rows, purpose, at)
            assert consent_is_active(patient=patient, purpose=purpose, at=at) is active, (purpose, at)
            in_sql = Patient.objects.filter(consent_active_filter(purpose=purpose, at=at), pk=patient.pk).exists()
            assert in_sql is active, (purpose, at)
        listed = {c.pk: c.effective_status for c in consents_for_patient(patient=patient, at=at)}
        assert listed == {r.pk: r.status_at(at) for r in rows}, at
    for row in rows:
        for at in instants[:6]:
            assert consent_effective_status(consent=row, at=at) == row.status_at(at), (row, at)


# --- the property ------------------------------------------------------------------------------


def _api_client(user) -> APIClient:
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def cast(settings, tmp_path, client, paul, patient_paul, care_manager_alice, virtual_visit_v1, marketing_email_v1):
    """Paul and his portal account, Alice on his care team, both texts in force."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return {
        "patient": paul,
        "patient_user": patient_paul,
        "staff_user": care_manager_alice,
        "client": client,
        "patient_api": _api_client(patient_paul),
        "staff_api": _api_client(care_manager_alice),
    }


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps, data=st.data())
def test_every_judge_of_consent_agrees_with_the_rule(cast, history, data):
    patient = cast["patient"]
    clock = [START]
    rows: list[Row] = []
    # The receipt PDF is not what is under test here, and rendering one takes most of a second.
    with (
        mock.patch("django.utils.timezone.now", lambda: clock[0]),
        mock.patch("consent.services.receipt_render", return_value=b"%PDF-1.4 receipt"),
        transaction.atomic(),
    ):
        try:
            for number, (step, look) in enumerate(history, 1):
                now = clock[0]
                if step[0] == "wait":
                    clock[0] = now + step[1]
                elif step[0] == "sweep":
                    due = [r for r in rows if r.stored_active and r.expires_at is not None and r.expires_at <= now]
                    assert consents_expire_due(actor=SystemActor("consent expiry")) == len(due)
                    for row in due:
                        row.swept = True
                elif step[0] == "sign":
                    _, purpose, valid_for = step
                    # refused while a consent of the purpose is in force; one that lapsed unswept
                    # has its expiry recorded with the new signature
                    may = not model_active(rows, purpose, now)
                    try:
                        consent = consent_sign(
                            actor=cast["patient_user"],
                            patient=patient,
                            purpose=purpose,
                            method="portal",
                            signer_name=patient.full_name,
                            expires_at=now + valid_for if valid_for else None,
                        )
                    except ValidationError as exc:
                        assert not may, exc
                        assert "purpose" in exc.message_dict
                    else:
                        assert may
                        assert consent.signed_at == now
                        for r in rows:
                            if r.purpose == purpose and r.stored_active:
                                r.swept = True
                        rows.append(Row(consent.pk, purpose, now, consent.expires_at))
                elif step[0] == "withdraw":
                    mine = [r for r in rows if r.purpose == step[1]]
                    if mine:
                        row = mine[-1]
                        try:
                            consent_withdraw(actor=cast["patient_user"], consent=Consent.objects.get(pk=row.pk))
                        except ValidationError as exc:
                            assert row.status_at(now) != ConsentStatus.ACTIVE, exc
                            assert "status" in exc.message_dict
                        else:
                            assert row.status_at(now) == ConsentStatus.ACTIVE
                            row.withdrawn_at = now
                if look or number == len(history):
                    _check_now(now=clock[0], rows=rows, **cast)

            span = max((clock[0] - START) // TICK, 1)
            boundaries = [
                t + d
                for r in rows
                for t in (r.signed_at, r.expires_at, r.withdrawn_at)
                if t is not None
                for d in (-TICK, dt.timedelta(0), TICK)
            ]
            drawn = data.draw(st.lists(st.integers(min_value=-span // 10, max_value=span + span // 10), max_size=5))
            instants = boundaries + [START + n * TICK for n in drawn]
            _check_history(rows=rows, patient=patient, instants=instants or [clock[0]])
        finally:
            transaction.set_rollback(True)
