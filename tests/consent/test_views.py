"""Portal consent pages: a patient's own consents only; sign, withdraw, receipts, verification."""

import datetime as dt
import hashlib

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from accounts.services import user_create
from consent.models import Consent, ConsentLedgerEntry, Purpose
from consent.selectors import consent_is_active
from consent.services import consent_sign, consent_template_version_create, consent_withdraw
from core.actors import SystemActor
from core.files import private_file_path
from patients.models import AccessLog

from .conftest import TEXTS, TITLES

pytestmark = pytest.mark.django_db

LIST = "/portal/consents/"
VERIFY = "/portal/consents/verify/"
SIGN_VV = "/portal/consents/sign/virtual_visit/"


def _sign(patient, purpose=Purpose.VIRTUAL_VISIT, **kw):
    kw.setdefault("method", "portal")
    kw.setdefault("signer_name", patient.full_name)
    return consent_sign(actor=kw.pop("actor", patient.user), patient=patient, purpose=purpose, **kw)


def _sign_form(client, url=SIGN_VV, **overrides):
    """What the browser posts: the hidden version and language from the page, then the signature."""
    form = client.get(url).context["form"]
    data = {
        "version": form["version"].value(),
        "language": form["language"].value(),
        "signer_name": "Paul Lefèvre",
        "agree": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- who may see what ------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    for url in (LIST, SIGN_VV, VERIFY, f"{LIST}{consent.pk}/withdraw/", f"{LIST}{consent.pk}/receipt/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_sign_in_urls_carry_no_id_or_query_of_the_page_asked_for(client, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    expected = {
        f"{LIST}{consent.pk}/withdraw/": f"/accounts/login/?next={LIST}",
        f"{LIST}{consent.pk}/receipt/": f"/accounts/login/?next={LIST}",
        f"{SIGN_VV}?next=/portal/appointments/41/": f"/accounts/login/?next={SIGN_VV}",
        "/portal/appointments/41/consent/": "/accounts/login/?next=/portal/appointments/",
        "/portal/appointments/41/": "/accounts/login/?next=/portal/appointments/",
        "/portal/appointments/book/3/?practitioner=2": "/accounts/login/?next=/portal/appointments/book/",
        "/portal/profile/?edit=1": "/accounts/login/?next=/portal/profile/",
    }
    for url, location in expected.items():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == location, url


def test_list_shows_the_patients_own_consents_and_what_is_left_to_sign(
    client, paul, petra, patient_paul, patient_petra, virtual_visit_v1, marketing_email_v1
):
    mine = _sign(paul)
    theirs = _sign(petra, purpose=Purpose.MARKETING_EMAIL)
    client.force_login(patient_paul)
    response = client.get(LIST)
    assert response.status_code == 200
    assert [c.pk for c in response.context["consents"]] == [mine.pk]
    assert [o["purpose"] for o in response.context["offers"]] == [Purpose.MARKETING_EMAIL]  # virtual visits already signed
    page = response.content.decode()
    assert f"/portal/consents/{mine.pk}/receipt/" in page and f"/portal/consents/{mine.pk}/withdraw/" in page
    assert f"/portal/consents/{theirs.pk}/" not in page
    assert "/portal/consents/sign/marketing_email/" in page


def test_withdrawn_consents_offer_no_withdraw_link_and_can_be_signed_again(client, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    consent_withdraw(actor=patient_paul, consent=consent)
    client.force_login(patient_paul)
    response = client.get(LIST)
    page = response.content.decode()
    assert f"/portal/consents/{consent.pk}/receipt/" in page
    assert f"/portal/consents/{consent.pk}/withdraw/" not in page
    assert [o["purpose"] for o in response.context["offers"]] == [Purpose.VIRTUAL_VISIT]


@pytest.mark.parametrize("who", ["care_manager_alice", "front_desk_fay", "outreach_olga", "event_planner_evan", "admin_ada"])
def test_staff_have_no_portal_consent_pages(client, request, who, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(request.getfixturevalue(who))
    for url in (LIST, SIGN_VV, f"{LIST}{consent.pk}/withdraw/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{LIST}{consent.pk}/withdraw/", {"reason": "x"}).status_code == 404
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)


def test_another_patients_consent_is_404_everywhere(client, paul, patient_paul, patient_petra, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(patient_petra)
    assert client.get(f"{LIST}{consent.pk}/withdraw/").status_code == 404
    assert client.post(f"{LIST}{consent.pk}/withdraw/", {"reason": "not mine"}).status_code == 404
    assert client.get(f"{LIST}{consent.pk}/receipt/").status_code == 404
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert client.get(f"{LIST}99999999999999999999/receipt/").status_code == 404  # past the database's range


def test_nav_and_home_link_to_the_consents_page(client, patient_paul):
    client.force_login(patient_paul)
    page = client.get("/portal/").content.decode()
    assert page.count('href="/portal/consents/"') >= 2


# --- signing ---------------------------------------------------------------------------------


def test_patient_signs_in_the_portal_in_the_language_of_the_page(client, paul, patient_paul, virtual_visit_v1):
    client.force_login(patient_paul)
    response = client.get(SIGN_VV)
    assert response.status_code == 200
    page = response.content.decode()
    assert TEXTS["fr"] in page and TITLES["fr"] in page  # Paul's pages open in French
    response = client.post(SIGN_VV, _sign_form(client), REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Firefox/140")
    assert response.status_code == 302 and response["Location"] == LIST
    consent = Consent.objects.get(patient=paul)
    assert (consent.method, consent.language, consent.ip_address, consent.user_agent) == (
        "portal",
        "fr",
        "198.51.100.7",
        "Firefox/140",
    )
    assert consent.text_sha256 == hashlib.sha256(TEXTS["fr"].encode()).hexdigest()
    assert consent.signer_name == "Paul Lefèvre"
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)


def test_a_parent_signs_for_the_patient_in_the_portal(client, paul, patient_paul, virtual_visit_v1):
    client.force_login(patient_paul)
    form = _sign_form(client, signer_name="Marie Lefèvre", representative_capacity="parent")
    assert client.post(SIGN_VV, form).status_code == 302
    consent = Consent.objects.get(patient=paul)
    assert (consent.signer_name, consent.representative_name, consent.representative_capacity) == (
        "Marie Lefèvre",
        "Marie Lefèvre",
        "parent",
    )


def test_a_patient_who_switched_to_english_reads_and_signs_the_english_text(client, paul, patient_paul, virtual_visit_v1):
    client.force_login(patient_paul)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(SIGN_VV).content.decode()
    assert TEXTS["en"] in page and TEXTS["fr"] not in page
    assert client.post(SIGN_VV, _sign_form(client)).status_code == 302
    consent = Consent.objects.get(patient=paul)
    assert consent.language == "en"
    assert consent.text_sha256 == hashlib.sha256(TEXTS["en"].encode()).hexdigest()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"signer_name": ""}, "signer_name"),
        ({"signer_name": "   "}, "signer_name"),
        ({"signer_name": "x" * 201}, "signer_name"),
        ({"agree": None}, "agree"),
        ({"signer_name": "Someone Else"}, "signer_name"),
        ({"signer_name": "Marie Lefèvre", "representative_capacity": "neighbour"}, "representative_capacity"),
    ],
)
def test_bad_signature_shows_the_error_beside_the_field_and_records_nothing(
    client, paul, patient_paul, virtual_visit_v1, overrides, field
):
    client.force_login(patient_paul)
    response = client.post(SIGN_VV, _sign_form(client, **overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Consent.objects.exists() and not ConsentLedgerEntry.objects.exists()


def test_unknown_purpose_or_one_without_text_is_404(client, paul, patient_paul, virtual_visit_v1):
    client.force_login(patient_paul)
    assert client.get("/portal/consents/sign/telepathy/").status_code == 404
    assert client.post("/portal/consents/sign/telepathy/", {"signer_name": "Paul", "agree": "on"}).status_code == 404
    assert client.get("/portal/consents/sign/research/").status_code == 404  # no text published
    assert not Consent.objects.exists()


def test_signing_a_purpose_already_active_is_refused_and_changes_nothing(client, paul, patient_paul, virtual_visit_v1):
    client.force_login(patient_paul)
    data = _sign_form(client)
    first = _sign(paul)
    response = client.get(SIGN_VV)
    assert "retirez-le depuis la page de vos consentements" in response.content.decode()  # Paul reads French
    response = client.post(SIGN_VV, data)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert list(Consent.objects.values_list("pk", flat=True)) == [first.pk]


def test_a_new_text_coming_into_force_after_the_page_opened_is_not_signed_unread(
    client, paul, patient_paul, virtual_visit_v1, admin_ada
):
    client.force_login(patient_paul)
    data = _sign_form(client)
    consent_template_version_create(
        actor=admin_ada,
        purpose=Purpose.VIRTUAL_VISIT,
        effective_from=dt.date(2026, 2, 1),
        titles=TITLES,
        texts={lang: f"{text} (v2)" for lang, text in TEXTS.items()},
    )
    response = client.post(SIGN_VV, data)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert f"{TEXTS['fr']} (v2)" in response.content.decode()  # the new wording, to read before signing
    assert not Consent.objects.exists()
    assert client.post(SIGN_VV, _sign_form(client)).status_code == 302
    assert Consent.objects.get().version.version == 2


# --- withdrawing -----------------------------------------------------------------------------


def test_patient_withdraws_with_a_reason_and_it_applies_at_once(client, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(patient_paul)
    url = f"{LIST}{consent.pk}/withdraw/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "I prefer to come in person"})
    assert response.status_code == 302 and response["Location"] == LIST
    assert not consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    consent.refresh_from_db()
    assert (consent.status, consent.withdrawal_reason, consent.withdrawn_by) == (
        "withdrawn",
        "I prefer to come in person",
        patient_paul,
    )


def test_withdrawal_bad_input_changes_nothing(client, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(patient_paul)
    url = f"{LIST}{consent.pk}/withdraw/"
    response = client.post(url, {"reason": "r" * 501})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    assert 'id="id_reason_error"' in response.content.decode()
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    consent_withdraw(actor=patient_paul, consent=consent)
    response = client.post(url, {"reason": "again"})
    assert response.status_code == 200
    assert "n’est plus actif" in response.content.decode()  # Paul reads French
    assert ConsentLedgerEntry.objects.filter(event="withdrawn").count() == 1


# --- receipts --------------------------------------------------------------------------------


def test_patient_downloads_their_receipt_privately(client, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(patient_paul)
    response = client.get(f"{LIST}{consent.pk}/receipt/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "private, no-store"
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == consent.receipt_sha256
    assert not AccessLog.objects.exists()  # the patient reading their own record is not a staff read


@pytest.mark.parametrize("who", ["care_manager_alice", "provider_paula", "front_desk_fay", "admin_ada"])
def test_staff_who_may_open_the_patient_download_the_receipt_and_it_is_logged(
    client, request, who, paul, patient_paul, virtual_visit_v1
):
    consent = _sign(paul)
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.get(f"{LIST}{consent.pk}/receipt/", HTTP_USER_AGENT="Edge")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.resource, log.channel, log.user_agent) == (user, paul, "consent_receipt", "staff", "Edge")


@pytest.mark.parametrize("who", ["patient_petra", "care_manager_bob", "outreach_olga", "event_planner_evan"])
def test_others_get_404_for_the_receipt(client, request, who, paul, patient_paul, patient_petra, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(request.getfixturevalue(who))
    assert client.get(f"{LIST}{consent.pk}/receipt/").status_code == 404
    assert not AccessLog.objects.exists()


def test_receipt_lives_outside_every_public_folder(paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    path = private_file_path(consent.receipt_path)
    assert path.is_file() and path.read_bytes().startswith(b"%PDF")
    assert str(settings.PRIVATE_STORAGE_ROOT) in str(path)
    assert not str(path).startswith(str(settings.STATIC_ROOT or "/nonexistent"))


# --- verification ----------------------------------------------------------------------------


def _receipt_bytes(consent) -> bytes:
    return private_file_path(consent.receipt_path).read_bytes()


def _upload(content: bytes, name="receipt.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_a_genuine_receipt_is_valid_and_its_owner_sees_their_name(client, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(patient_paul)
    response = client.post(VERIFY, {"receipt": _upload(_receipt_bytes(consent))})
    assert response.status_code == 200
    result = response.context["result"]
    assert (result["kind"], result["status"], result["patient"]) == ("receipt", "active", paul)
    assert "Lefèvre" in response.content.decode()


def test_a_modified_receipt_does_not_match(client, paul, patient_paul, virtual_visit_v1):
    consent = _sign(paul)
    forged = _receipt_bytes(consent).replace(b"Paul", b"Pete", 1) + b"\n%tampered"
    client.force_login(patient_paul)
    response = client.post(VERIFY, {"receipt": _upload(forged)})
    assert response.status_code == 200
    assert response.context["result"]["kind"] == "none"
    assert "Lefèvre" not in response.content.decode()


@pytest.mark.parametrize("who", ["patient_petra", "care_manager_bob", "event_planner_evan", "outreach_olga"])
def test_someone_who_cannot_see_the_patient_learns_the_status_but_never_the_name(
    client, request, who, paul, patient_paul, patient_petra, virtual_visit_v1
):
    consent = _sign(paul)
    consent_withdraw(actor=patient_paul, consent=consent)
    client.force_login(request.getfixturevalue(who))
    response = client.post(VERIFY, {"sha256": consent.receipt_sha256.upper()})
    assert response.status_code == 200
    result = response.context["result"]
    assert (result["kind"], result["status"]) == ("receipt", "withdrawn")
    assert "patient" not in result
    page = response.content.decode()
    assert "Lefèvre" not in page and "MRN-PAUL" not in page
    assert not AccessLog.objects.exists()


def test_staff_who_may_open_the_patient_see_the_name_and_the_read_is_logged(
    client, care_manager_alice, paul, patient_paul, virtual_visit_v1
):
    consent = _sign(paul)
    client.force_login(care_manager_alice)
    response = client.post(VERIFY, {"sha256": consent.receipt_sha256})
    assert "MRN-PAUL" in response.content.decode()
    assert AccessLog.objects.get().resource == "consent_verify"


def test_an_expired_consent_reads_expired(client, paul, patient_paul, virtual_visit_v1):
    from django.utils import timezone

    consent = _sign(paul, expires_at=timezone.now() + dt.timedelta(days=1))
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    client.force_login(patient_paul)
    response = client.post(VERIFY, {"sha256": consent.receipt_sha256})
    assert response.context["result"]["status"] == "expired"


def test_the_hash_of_a_text_names_the_wording_not_a_person(client, paul, patient_paul, patient_petra, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(patient_petra)
    response = client.post(VERIFY, {"sha256": consent.text_sha256})
    result = response.context["result"]
    assert result["kind"] == "text" and "status" not in result and "signed_at" not in result


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "receipt"),
        ({"sha256": "not-a-hash"}, "sha256"),
        ({"sha256": "a" * 63}, "sha256"),
        ({"sha256": "a" * 64, "receipt": "PDF"}, "sha256"),
        ({"receipt": "TEXT"}, "receipt"),
    ],
)
def test_verify_bad_input_is_a_field_error(client, patient_paul, data, field):
    client.force_login(patient_paul)
    if data.get("receipt") == "PDF":
        data["receipt"] = _upload(b"%PDF-1.7 nothing")
    elif data.get("receipt") == "TEXT":
        data["receipt"] = _upload(b"hello", name="receipt.txt")
    response = client.post(VERIFY, data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert response.context["result"] is None


def test_accounts_that_are_neither_staff_nor_patients_get_404_on_verify(client, db):
    from django.contrib.auth.models import Group

    from accounts.roles import roles_sync

    if not Group.objects.exists():
        roles_sync()
    lone = user_create(
        actor=SystemActor("test fixtures"), email="lone@salus.test", password="pw-for-tests-1", role=Role.PATIENT
    )  # no record linked
    client.force_login(lone)
    assert client.get(VERIFY).status_code == 404


# --- query budgets ---------------------------------------------------------------------------


def test_consent_list_queries_do_not_grow_with_consents(client, paul, patient_paul, virtual_visit_v1, marketing_email_v1):
    client.force_login(patient_paul)
    counts = []
    for _ in range(2):
        for purpose in (Purpose.VIRTUAL_VISIT, Purpose.MARKETING_EMAIL):
            consent_withdraw(actor=patient_paul, consent=_sign(paul, purpose=purpose))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LIST).status_code == 200
        counts.append(len(ctx.captured_queries))
    # session, user, the user's patient (language), the patient record, the consents with their
    # versions, the versions in force: the same whatever the number of consents.
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts
