"""Consent admin: which consents each role sees, recording in person and on paper, withdrawal,
templates and their versions, the ledger, and the counts for administrators and outreach."""

import datetime as dt

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.models import Consent, ConsentLedgerEntry, ConsentTemplateVersion, Purpose
from consent.selectors import consent_is_active
from consent.services import consent_sign, consent_withdraw
from core.files import private_file_path
from patients.models import AccessLog
from tests.factories import PatientFactory

from .conftest import TEXTS, TITLES

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/consent/consent/"
ADD = "/admin/consent/consent/add/"
RATES = "/admin/consent/consent/rates/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path):
    """Private files of this test only, so that what a refused upload leaves behind can be counted."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


def _sign(patient, purpose=Purpose.VIRTUAL_VISIT, **kw):
    """Given a consent: signed by the patient in the portal, or collected through the API by the
    staff member passed as `actor` (for a patient without a portal account)."""
    actor = kw.pop("actor", patient.user)
    return consent_sign(
        actor=actor,
        patient=patient,
        purpose=purpose,
        method="portal" if actor == patient.user else "api",
        signer_name=patient.full_name,
        **kw,
    )


def _rows(response):
    return {c.pk for c in response.context["cl"].result_list}


# --- which consents --------------------------------------------------------------------------


def test_changelists_follow_who_may_open_which_patient(
    client, care_manager_alice, care_manager_bob, provider_paula, front_desk_fay, admin_ada, paul, petra, virtual_visit_v1
):
    pauls, petras = _sign(paul, actor=admin_ada), _sign(petra, actor=admin_ada)
    expected = {
        care_manager_alice: {pauls.pk},
        provider_paula: {pauls.pk},
        care_manager_bob: {petras.pk},
        front_desk_fay: {pauls.pk, petras.pk},
        admin_ada: {pauls.pk, petras.pk},
    }
    for user, rows in expected.items():
        client.force_login(user)
        response = client.get(CHANGELIST)
        assert response.status_code == 200, user
        assert _rows(response) == rows, user


def test_outreach_is_sent_to_the_counts_and_event_planners_see_nothing(
    client, admin_ada, outreach_olga, event_planner_evan, paul, virtual_visit_v1
):
    consent = _sign(paul, actor=admin_ada)
    client.force_login(outreach_olga)
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and response["Location"] == RATES
    client.force_login(event_planner_evan)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(RATES).status_code == 403
    for who in (outreach_olga, event_planner_evan):
        client.force_login(who)
        for suffix in ("change/", "receipt/", "scan/", "withdraw/", "history/"):
            assert client.get(f"{CHANGELIST}{consent.pk}/{suffix}").status_code == 404, (who, suffix)
        assert client.get(ADD).status_code == 403


@pytest.mark.parametrize("suffix", ["change/", "receipt/", "withdraw/", "history/"])
def test_another_care_team_gets_404_on_every_consent_page(client, admin_ada, care_manager_bob, paul, suffix, virtual_visit_v1):
    consent = _sign(paul, actor=admin_ada)
    client.force_login(care_manager_bob)
    assert client.get(f"{CHANGELIST}{consent.pk}/{suffix}").status_code == 404
    assert client.post(f"{CHANGELIST}{consent.pk}/withdraw/", {"confirm": "yes", "reason": "x"}).status_code == 404
    assert client.get(f"{CHANGELIST}not-a-number/change/").status_code == 404
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert not AccessLog.objects.exists()


def test_patients_are_not_staff(client, patient_paul, paul, virtual_visit_v1):
    consent = _sign(paul)
    client.force_login(patient_paul)
    response = client.get(f"{CHANGELIST}{consent.pk}/change/")
    assert response.status_code == 403  # the page that says this is not a staff account


def test_search_is_by_mrn_within_the_care_team(client, admin_ada, care_manager_alice, paul, petra, virtual_visit_v1):
    pauls = _sign(paul, actor=admin_ada)
    _sign(petra, actor=admin_ada)
    client.force_login(care_manager_alice)
    assert _rows(client.get(CHANGELIST, {"q": "MRN-PAUL"})) == {pauls.pk}
    assert _rows(client.get(CHANGELIST, {"q": "MRN-PETRA"})) == set()


def test_filters_by_purpose_status_and_method(
    client, admin_ada, front_desk_fay, paul, petra, virtual_visit_v1, marketing_email_v1
):
    a = _sign(paul, actor=admin_ada)
    b = _sign(petra, purpose=Purpose.MARKETING_EMAIL, actor=admin_ada)
    consent_withdraw(actor=admin_ada, consent=b)
    client.force_login(front_desk_fay)
    assert _rows(client.get(CHANGELIST, {"purpose__exact": "marketing_email"})) == {b.pk}
    assert _rows(client.get(CHANGELIST, {"status": "active"})) == {a.pk}
    assert _rows(client.get(CHANGELIST, {"method__exact": "api"})) == {a.pk, b.pk}


def test_change_view_is_read_only_logged_and_links_the_receipt(client, admin_ada, care_manager_alice, paul, virtual_visit_v1):
    consent = _sign(paul, actor=admin_ada)
    client.force_login(care_manager_alice)
    response = client.get(f"{CHANGELIST}{consent.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{CHANGELIST}{consent.pk}/receipt/" in page and f"{CHANGELIST}{consent.pk}/withdraw/" in page
    assert 'name="_save"' not in page
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.channel, log.resource) == (care_manager_alice, paul, "admin", "consents")
    assert client.post(f"{CHANGELIST}{consent.pk}/change/", {"signer_name": "Someone else"}).status_code == 403
    consent.refresh_from_db()
    assert consent.signer_name == paul.full_name


def test_admin_receipt_download_is_private_and_logged(client, admin_ada, front_desk_fay, paul, virtual_visit_v1):
    consent = _sign(paul, actor=admin_ada)
    client.force_login(front_desk_fay)
    response = client.get(f"{CHANGELIST}{consent.pk}/receipt/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AccessLog.objects.get().resource == "consent_receipt"
    assert AccessLog.objects.get().channel == "admin"


# --- recording a consent ---------------------------------------------------------------------


def _scans() -> set:
    folder = settings.PRIVATE_STORAGE_ROOT / "consent-scans"
    return set(folder.iterdir()) if folder.exists() else set()


def _record(client, who, **overrides):
    data = {
        "patient": who.pk,
        "purpose": "virtual_visit",
        "method": "in_person",
        "signer_name": "Paul Lefèvre",
        "language": "",
        "expires_at_0": "",
        "expires_at_1": "",
    }
    data.update(overrides)
    return client.post(ADD, {k: v for k, v in data.items() if v is not None})


def test_add_form_renders_with_the_patient_autocomplete(client, front_desk_fay, paul):
    client.force_login(front_desk_fay)
    response = client.get(ADD, {"patient": paul.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "admin-autocomplete" in page and 'enctype="multipart/form-data"' in page
    assert response.context["form"].initial["patient"] == paul
    assert client.get(ADD, {"patient": "9" * 30}).status_code == 200  # past the database's range: no patient
    autocomplete = client.get(
        "/admin/autocomplete/", {"app_label": "consent", "model_name": "consent", "field_name": "patient", "term": "MRN-PAUL"}
    )
    assert autocomplete.status_code == 200
    assert [r["id"] for r in autocomplete.json()["results"]] == [str(paul.pk)]


def test_staff_record_an_in_person_consent_as_its_witness(client, care_manager_alice, paul, virtual_visit_v1):
    client.force_login(care_manager_alice)
    response = _record(client, paul)
    assert response.status_code == 302, response.context and response.context["form"].errors
    consent = Consent.objects.get()
    assert (consent.method, consent.witness, consent.recorded_by, consent.language) == (
        "in_person",
        care_manager_alice,
        care_manager_alice,
        "fr",
    )
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert response["Location"] == f"{CHANGELIST}{consent.pk}/change/"


def test_staff_record_a_guardians_signature_or_see_the_name_refused(client, front_desk_fay, paul, virtual_visit_v1):
    client.force_login(front_desk_fay)
    response = _record(client, paul, signer_name="Someone Else")
    assert response.status_code == 200 and "signer_name" in response.context["form"].errors
    assert not Consent.objects.exists() and not ConsentLedgerEntry.objects.exists()
    response = _record(client, paul, signer_name="Marie Lefèvre", representative_capacity="guardian")
    assert response.status_code == 302, response.context and response.context["form"].errors
    consent = Consent.objects.get()
    assert (consent.representative_name, consent.representative_capacity) == ("Marie Lefèvre", "guardian")
    page = client.get(f"{CHANGELIST}{consent.pk}/change/").content.decode()
    assert "Marie Lefèvre" in page and "Legal guardian" in page


def test_a_paper_consent_stores_its_scan_privately(client, front_desk_fay, paul, virtual_visit_v1):
    client.force_login(front_desk_fay)
    scan = b"%PDF-1.4\n" + b"scanned form " * 100
    response = _record(
        client, paul, method="paper", language="it", scanned_document=SimpleUploadedFile("form.pdf", scan, "application/pdf")
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    consent = Consent.objects.get()
    assert (consent.method, consent.witness, consent.language) == ("paper", None, "it")
    stored = private_file_path(consent.scanned_document)
    assert stored.read_bytes() == scan
    assert stored.is_relative_to(settings.PRIVATE_STORAGE_ROOT)  # never under static or media files
    assert consent.scanned_document.startswith("consent-scans/") and "form.pdf" not in consent.scanned_document
    download = client.get(f"{CHANGELIST}{consent.pk}/scan/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Cache-Control"] == "private, no-store"
    assert b"".join(download.streaming_content) == scan
    assert AccessLog.objects.filter(resource="consent_scan", actor=front_desk_fay).exists()


def test_a_png_scan_is_accepted(client, front_desk_fay, paul, virtual_visit_v1):
    client.force_login(front_desk_fay)
    response = _record(client, paul, method="paper", scanned_document=SimpleUploadedFile("f.png", PNG, "image/png"))
    assert response.status_code == 302
    consent = Consent.objects.get()
    download = client.get(f"{CHANGELIST}{consent.pk}/scan/")
    assert download["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"method": "paper"}, "scanned_document"),  # no scan
        ({"method": "paper", "scanned_document": ("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024))}, "scanned_document"),
        ({"method": "paper", "scanned_document": ("form.docx", b"PK\x03\x04 word document")}, "scanned_document"),
        ({"method": "in_person", "scanned_document": ("f.png", PNG)}, "scanned_document"),
        ({"method": "email"}, "method"),
        ({"purpose": "telepathy"}, "purpose"),
        ({"purpose": "research"}, "purpose"),  # no text in force
        ({"signer_name": ""}, "signer_name"),
        ({"signer_name": "x" * 201}, "signer_name"),
        ({"language": "de"}, "language"),
        ({"patient": "not-a-number"}, "patient"),
        ({"patient": None}, "patient"),
        ({"expires_at_0": "2026-02-31", "expires_at_1": "10:00"}, "expires_at"),
        ({"expires_at_0": "2020-01-01", "expires_at_1": "10:00"}, "expires_at"),  # in the past
    ],
)
def test_bad_input_is_a_field_error_and_records_nothing(client, front_desk_fay, paul, virtual_visit_v1, overrides, field):
    overrides = dict(overrides)
    if isinstance(overrides.get("scanned_document"), tuple):
        name, content = overrides["scanned_document"]
        overrides["scanned_document"] = SimpleUploadedFile(name, content)
    client.force_login(front_desk_fay)
    before = _scans()
    response = _record(client, paul, **overrides)
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode() or "errorlist" in response.content.decode()
    assert not Consent.objects.exists() and not ConsentLedgerEntry.objects.exists()
    assert _scans() == before


def test_staff_cannot_record_for_a_patient_they_may_not_open(client, care_manager_bob, paul, virtual_visit_v1):
    client.force_login(care_manager_bob)
    response = _record(client, paul, signer_name="Paul")
    assert response.status_code == 200
    assert "patient" in response.context["form"].errors
    assert not Consent.objects.exists()


def test_a_purpose_already_active_is_a_form_error(client, admin_ada, front_desk_fay, paul, virtual_visit_v1):
    first = _sign(paul, actor=admin_ada)
    client.force_login(front_desk_fay)
    response = _record(client, paul)
    assert response.status_code == 200 and "purpose" in response.context["form"].errors
    assert list(Consent.objects.values_list("pk", flat=True)) == [first.pk]


# --- withdrawing -----------------------------------------------------------------------------


def test_withdraw_action_asks_for_a_reason_then_withdraws(client, admin_ada, care_manager_alice, paul, petra, virtual_visit_v1):
    mine = _sign(paul, actor=admin_ada)
    theirs = _sign(petra, actor=admin_ada)
    client.force_login(care_manager_alice)
    ask = client.post(CHANGELIST, {"action": "withdraw_selected", "_selected_action": [mine.pk, theirs.pk]})
    assert ask.status_code == 200
    assert [c.pk for c in ask.context["consents"]] == [mine.pk]  # Petra's is not Alice's to see
    missing = client.post(
        CHANGELIST, {"action": "withdraw_selected", "_selected_action": [mine.pk], "confirm": "yes", "reason": ""}
    )
    assert missing.status_code == 200 and "reason" in missing.context["form"].errors
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    done = client.post(
        CHANGELIST,
        {
            "action": "withdraw_selected",
            "_selected_action": [mine.pk, theirs.pk],
            "confirm": "yes",
            "reason": "Asked at the desk",
        },
    )
    assert done.status_code == 302
    assert not consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert consent_is_active(patient=petra, purpose=Purpose.VIRTUAL_VISIT)
    mine.refresh_from_db()
    assert (mine.withdrawn_by, mine.withdrawal_reason) == (care_manager_alice, "Asked at the desk")


def test_withdraw_page_of_one_consent(client, admin_ada, front_desk_fay, paul, virtual_visit_v1):
    consent = _sign(paul, actor=admin_ada)
    client.force_login(front_desk_fay)
    url = f"{CHANGELIST}{consent.pk}/withdraw/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"confirm": "yes", "reason": "r" * 501}).status_code == 200
    assert consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    assert client.post(url, {"confirm": "yes", "reason": "Phoned in"}).status_code == 302
    assert not consent_is_active(patient=paul, purpose=Purpose.VIRTUAL_VISIT)
    # a second withdrawal is reported, not a crash
    response = client.post(url, {"confirm": "yes", "reason": "again"}, follow=True)
    assert response.status_code == 200
    assert ConsentLedgerEntry.objects.filter(event="withdrawn").count() == 1


# --- query budget ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["front_desk_fay", "care_manager_alice"])
def test_changelist_queries_do_not_grow_with_rows(client, request, who, admin_ada, paul, virtual_visit_v1, marketing_email_v1):
    from patients.services import care_team_member_add

    user = request.getfixturevalue(who)
    client.force_login(user)
    client.get(CHANGELIST)  # warm the per-process caches (content types) before counting
    counts = []
    for batch in (1, 6):
        for patient in PatientFactory.create_batch(batch):
            care_team_member_add(
                actor=admin_ada, patient=patient, user=request.getfixturevalue("care_manager_alice"), role="care_manager"
            )
            _sign(patient, actor=admin_ada)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(CHANGELIST)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


# --- counts by purpose -----------------------------------------------------------------------


def test_rates_show_counts_with_small_numbers_masked(
    client, admin_ada, outreach_olga, paul, virtual_visit_v1, marketing_email_v1
):
    patients = PatientFactory.create_batch(6)
    for patient in patients:
        _sign(patient, actor=admin_ada)
    withdrawn = _sign(paul, purpose=Purpose.MARKETING_EMAIL, actor=admin_ada)
    consent_withdraw(actor=admin_ada, consent=withdrawn)
    expiring = _sign(
        patients[0], purpose=Purpose.MARKETING_EMAIL, actor=admin_ada, expires_at=timezone.now() + dt.timedelta(days=1)
    )
    Consent.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    for user in (admin_ada, outreach_olga):
        client.force_login(user)
        response = client.get(RATES)
        assert response.status_code == 200
        rows = {r["purpose"]: r for r in response.context["rows"]}
        assert (rows["virtual_visit"]["active"], rows["virtual_visit"]["share"]) == (6, round(100 * 6 / 7, 1))
        assert rows["marketing_email"]["withdrawn"] is None  # one: masked
        assert rows["marketing_email"]["expired"] is None
        assert rows["research"]["active"] == 0
        page = response.content.decode()
        assert "fewer than 5" in page
        assert paul.family_name not in page and "MRN" not in page


def test_rates_are_for_administrators_and_outreach_only(client, care_manager_alice, front_desk_fay, event_planner_evan):
    for user in (care_manager_alice, front_desk_fay, event_planner_evan):
        client.force_login(user)
        assert client.get(RATES).status_code == 403


def test_rates_queries_do_not_grow_with_consents(client, admin_ada, virtual_visit_v1, marketing_email_v1):
    client.force_login(admin_ada)
    counts = []
    for batch in (1, 5):
        for patient in PatientFactory.create_batch(batch):
            _sign(patient, actor=admin_ada)
            _sign(patient, purpose=Purpose.MARKETING_EMAIL, actor=admin_ada)
        with CaptureQueriesContext(connection) as ctx:
            client.get(RATES)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_admin_changelist_links_to_the_rates(client, admin_ada, care_manager_alice):
    client.force_login(admin_ada)
    assert RATES in client.get(CHANGELIST).content.decode()
    client.force_login(care_manager_alice)
    assert RATES not in client.get(CHANGELIST).content.decode()


# --- templates, versions, ledger -------------------------------------------------------------


def _version_form(**overrides):
    data = {
        "purpose": "virtual_visit",
        "effective_from": "2026-03-01",
        **{f"title_{lang}": title for lang, title in TITLES.items()},
        **{f"text_{lang}": f"{text} — v2" for lang, text in TEXTS.items()},
    }
    data.update(overrides)
    return data


def test_administrator_publishes_a_new_version(client, admin_ada, virtual_visit_v1):
    client.force_login(admin_ada)
    assert client.get("/admin/consent/consenttemplateversion/add/", {"from": virtual_visit_v1.pk}).status_code == 200
    response = client.post("/admin/consent/consenttemplateversion/add/", _version_form())
    assert response.status_code == 302
    version = ConsentTemplateVersion.objects.get(version=2)
    assert (version.template, version.created_by, version.text_it) == (
        virtual_visit_v1.template,
        admin_ada,
        f"{TEXTS['it']} — v2",
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"text_it": ""}, "text_it"),
        ({"title_fr": "   "}, "title_fr"),
        ({"purpose": "telepathy"}, "purpose"),
        ({"effective_from": "2026-02-30"}, "effective_from"),
        ({"title_en": "x" * 201}, "title_en"),
    ],
)
def test_a_version_missing_a_language_or_with_bad_input_is_refused(client, admin_ada, virtual_visit_v1, overrides, field):
    client.force_login(admin_ada)
    response = client.post("/admin/consent/consenttemplateversion/add/", _version_form(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert ConsentTemplateVersion.objects.count() == 1


def test_versions_are_read_only_and_say_when_they_are_locked(client, admin_ada, paul, virtual_visit_v1):
    client.force_login(admin_ada)
    url = f"/admin/consent/consenttemplateversion/{virtual_visit_v1.pk}/change/"
    assert "Not signed yet" in client.get(url).content.decode()
    _sign(paul, actor=admin_ada)
    page = client.get(url).content.decode()
    assert "it can never change" in page
    assert f"?from={virtual_visit_v1.pk}" in page
    assert client.post(url, _version_form()).status_code == 403
    virtual_visit_v1.refresh_from_db()
    assert virtual_visit_v1.text_en == TEXTS["en"]
    template_page = client.get(f"/admin/consent/consenttemplate/{virtual_visit_v1.template_id}/change/")
    assert template_page.status_code == 200


@pytest.mark.parametrize("who", ["care_manager_alice", "front_desk_fay", "outreach_olga", "event_planner_evan"])
def test_templates_versions_and_ledger_are_for_administrators(client, admin_ada, request, who, paul, virtual_visit_v1):
    _sign(paul, actor=admin_ada)
    client.force_login(request.getfixturevalue(who))
    for url in (
        "/admin/consent/consenttemplate/",
        "/admin/consent/consenttemplateversion/",
        "/admin/consent/consenttemplateversion/add/",
        "/admin/consent/consentledgerentry/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/consent/consenttemplateversion/add/", _version_form()).status_code == 403
    assert ConsentTemplateVersion.objects.count() == 1


def test_ledger_is_browsable_and_read_only_for_administrators(client, admin_ada, paul, virtual_visit_v1):
    consent = _sign(paul, actor=admin_ada)
    consent_withdraw(actor=admin_ada, consent=consent, reason="test")
    client.force_login(admin_ada)
    response = client.get("/admin/consent/consentledgerentry/", {"q": "MRN-PAUL"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 2
    entry = ConsentLedgerEntry.objects.first()
    page = client.get(f"/admin/consent/consentledgerentry/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get("/admin/consent/consentledgerentry/add/").status_code == 403
    assert client.post(f"/admin/consent/consentledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
