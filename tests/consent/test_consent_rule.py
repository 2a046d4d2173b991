"""The one consent rule, wherever consent state is shown or decided: a consent past its expiry is
expired at once, on every page and endpoint, before the periodic sweep records it."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import Consent, ConsentLedgerEntry, ConsentStatus, Purpose
from consent.selectors import (
    consent_active_filter,
    consent_effective_status,
    consent_is_active,
    consent_rates_by_purpose,
)
from consent.services import consent_sign, consent_withdraw, consents_expire_due
from core.actors import SystemActor
from patients.models import Patient
from scheduling.video import video_access
from tests.scheduling.conftest import at, book, clinic, monday, practitioner_paula, service  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

VV = Purpose.VIRTUAL_VISIT
LIST = "/portal/consents/"
SIGN_VV = "/portal/consents/sign/virtual_visit/"


def _sign(patient, purpose=VV, **kw):
    return consent_sign(
        actor=patient.user, patient=patient, purpose=purpose, method="portal", signer_name=patient.full_name, **kw
    )


def _lapsed_unswept(patient, purpose=VV) -> Consent:
    """A consent whose expiry passed a minute ago, not yet marked by the sweep."""
    consent = _sign(patient, purpose, expires_at=timezone.now() + dt.timedelta(days=1))
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.ACTIVE  # what the row still says
    return consent


def _list_status(page: str, pk: int) -> str:
    block = page.split(f'id="consent-{pk}"', 1)[1].split("</li>", 1)[0]
    return re.search(r'class="status status-(\w+)"', block).group(1)


def test_an_expired_consent_not_yet_swept_is_not_active_anywhere(
    client, api, paul, patient_paul, care_manager_alice, virtual_visit_v1
):
    # given a virtual-visit consent past its expiry, the sweep not run yet
    consent = _lapsed_unswept(paul)

    # then the rule says no, in Python and in SQL
    assert not consent_is_active(patient=paul, purpose=VV)
    assert not Patient.objects.filter(consent_active_filter(purpose=VV), pk=paul.pk).exists()
    assert consent_effective_status(consent=consent) == ConsentStatus.EXPIRED

    # and the portal list shows it expired, offers to sign again, and offers no withdrawal
    client.force_login(patient_paul)
    page = client.get(LIST).content.decode()
    assert _list_status(page, consent.pk) == "expired"
    assert f"{LIST}{consent.pk}/withdraw/" not in page
    assert SIGN_VV in page

    # and the sign page shows the form, not "you have already agreed"
    response = client.get(SIGN_VV)
    assert response.context["already_active"] is False
    assert 'class="card form"' in response.content.decode()

    # and the withdraw page says there is nothing to withdraw
    assert client.get(f"{LIST}{consent.pk}/withdraw/").context["is_active"] is False

    # and both API endpoints report it expired
    me = api.as_user(patient_paul).get("/api/v1/me/consents/").json()["results"]
    assert [(c["id"], c["status"]) for c in me] == [(consent.pk, "expired")]
    staff = api.as_user(care_manager_alice).get(f"/api/v1/patients/{paul.pk}/consents/").json()["results"]
    assert [(c["id"], c["status"]) for c in staff] == [(consent.pk, "expired")]
    assert api.as_user(patient_paul).get("/api/v1/me/consents/available/").json()[0]["purpose"] == VV

    # and the admin list shows it expired and files it under "expired"
    client.force_login(care_manager_alice)
    response = client.get("/admin/consent/consent/")
    assert [(c.pk, c.effective_status) for c in response.context["cl"].result_list] == [(consent.pk, "expired")]
    assert f">{ConsentStatus.EXPIRED.label}<" in response.content.decode()
    assert {c.pk for c in client.get("/admin/consent/consent/", {"status": "expired"}).context["cl"].result_list} == {consent.pk}
    assert not client.get("/admin/consent/consent/", {"status": "active"}).context["cl"].result_list
    change = client.get(f"/admin/consent/consent/{consent.pk}/change/")
    assert f"/admin/consent/consent/{consent.pk}/withdraw/" not in change.content.decode()

    # and the counts count it expired
    rows = {r["purpose"]: r for r in consent_rates_by_purpose()["rows"]}
    assert rows[VV]["active"] == 0 and rows[VV]["expired"] is None  # one: masked

    # and the sweep, when it runs, only records what was already true
    assert consents_expire_due(actor=SystemActor("consent expiry")) == 1
    assert ConsentLedgerEntry.objects.filter(consent=consent, event="expired").count() == 1
    assert consent_effective_status(consent=consent) == ConsentStatus.EXPIRED


def test_an_expired_consent_not_yet_swept_gives_no_video_link(request, client, patient_paul, paul, virtual_visit_v1):
    from scheduling.services import appointment_intake_submit

    practitioner, visit_service = request.getfixturevalue("practitioner_paula"), request.getfixturevalue("service")
    start = at(request.getfixturevalue("monday"), 9)
    appointment = book(patient_paul, paul, practitioner, visit_service, start, channel="portal")
    appointment_intake_submit(actor=patient_paul, appointment=appointment, contact_phone="+33 6 12 34 56 78", contact_email="")
    appointment.refresh_from_db()
    consent = _sign(paul, expires_at=timezone.now() + dt.timedelta(days=1))
    assert video_access(user=patient_paul, appointment=appointment).url  # in force: the link is given

    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    access = video_access(user=patient_paul, appointment=appointment)
    assert access.url is None and access.needs_consent and not access.needs_intake

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(patient_paul)
    response = client.get(f"/portal/appointments/{appointment.pk}/visit/")
    assert response.context["access"].needs_consent
    assert appointment.video_room not in response.content.decode()


def test_the_rule_reads_the_moment_asked_about(paul, patient_paul, virtual_visit_v1):
    """Signed at or before `at`, not withdrawn by `at`, not expired by `at`: each bound inclusive."""
    consent = _sign(paul, expires_at=timezone.now() + dt.timedelta(days=30))
    signed, expires = consent.signed_at, consent.expires_at
    second = dt.timedelta(microseconds=1)

    def active(at):
        python = consent_is_active(patient=paul, purpose=VV, at=at)
        sql = Patient.objects.filter(consent_active_filter(purpose=VV, at=at), pk=paul.pk).exists()
        assert python == sql
        return python

    assert not active(signed - second)
    assert active(signed)
    assert active(expires - second)
    assert not active(expires)
    assert consent_effective_status(consent=consent, at=signed - second) is None
    assert consent_effective_status(consent=consent, at=expires) == ConsentStatus.EXPIRED

    consent_withdraw(actor=patient_paul, consent=consent)
    consent.refresh_from_db()
    withdrawn = consent.withdrawn_at
    assert active(withdrawn - second)
    assert not active(withdrawn)
    assert consent_effective_status(consent=consent, at=withdrawn) == ConsentStatus.WITHDRAWN
    # withdrawn before its expiry: it reads withdrawn after the expiry too
    assert consent_effective_status(consent=consent, at=expires + dt.timedelta(days=1)) == ConsentStatus.WITHDRAWN


def test_a_consent_that_lapsed_cannot_be_withdrawn_swept_or_not(paul, patient_paul, virtual_visit_v1):
    """The row still says "active" until the sweep runs; the service follows the rule, not the row."""
    consent = _lapsed_unswept(paul)
    with pytest.raises(ValidationError) as refused:
        consent_withdraw(actor=patient_paul, consent=consent)
    assert "status" in refused.value.message_dict
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    assert consent_effective_status(consent=consent) == ConsentStatus.EXPIRED
    assert not consent_is_active(patient=paul, purpose=VV)


def test_signing_again_after_an_expiry_the_sweep_has_not_recorded(paul, patient_paul, virtual_visit_v1):
    lapsed = _lapsed_unswept(paul)
    _sign(paul)
    assert consent_is_active(patient=paul, purpose=VV)
    # the lapsed consent's expiry is recorded with the new signature, once: the sweep finds nothing
    lapsed.refresh_from_db()
    assert lapsed.status == ConsentStatus.EXPIRED
    assert ConsentLedgerEntry.objects.filter(consent=lapsed, event="expired").count() == 1
    assert consents_expire_due(actor=SystemActor("consent expiry")) == 0
