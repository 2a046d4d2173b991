"""Privacy rights: a copy of one's data (JSON + PDF), erasure by pseudonymization, and who may do what."""

import io
import json
import re
from unittest import mock

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation

from audit.chain import verify_all
from consent.models import Consent, ConsentLedgerEntry, Purpose
from consent.services import consent_sign, consent_withdraw
from core.actors import SystemActor
from core.files import private_file_path
from notifications.models import Notification, OutboxItem
from notifications.services import outbox_deliver, outbox_message_enqueue
from patients.models import AccessLog, ClinicalNote, Patient, PatientContact, PatientIdentifier
from patients.services import access_log_record, clinical_note_create, patient_identifier_add, patient_update
from privacy import services as privacy
from privacy import tasks
from privacy.models import PrivacyRequest
from privacy.services import export as privacy_export_module
from privacy.services import (
    privacy_erase,
    privacy_erasure_request,
    privacy_export_request,
    privacy_request_create,
    privacy_request_decide,
)

from ..factories import FACT_FACTORIES

pytestmark = pytest.mark.django_db

PAUL_PHONE = "+33 6 11 22 33 44"
PETRA_PHONE = "+39 347 555 0199"


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def _give_rich_record(patient, *, staff, tag: str, phone: str, contact: str):
    """Given a patient with something in every part of the record, all marked with `tag`."""
    patient_update(
        actor=staff,
        patient=patient,
        changes={"phone": phone, "address_line": f"{tag} street 7", "postal_code": "69003", "city": "Lyon"},
    )
    patient_identifier_add(actor=staff, patient=patient, system="urn:oid:1.2.250.1.213.1.4.8", value=f"NIR-{tag}")
    PatientContact.objects.create(patient=patient, name=contact, relationship="next_of_kin", phone="+33 4 78 00 00 01")
    for kind, factory in FACT_FACTORIES.items():
        extra = {"reason_display": f"{tag} {kind}"} if kind == "encounters" else {"display": f"{tag} {kind}"}
        factory(patient=patient, **extra)
    access_log_record(actor=staff, patient=patient, resource="record", channel="admin")
    consent_sign(
        actor=staff,
        patient=patient,
        purpose=Purpose.VIRTUAL_VISIT,
        method="in_person",
        signer_name=patient.full_name,
        witness=staff,
    )
    paper = consent_sign(
        actor=staff,
        patient=patient,
        purpose=Purpose.MARKETING_EMAIL,
        method="paper",
        signer_name=patient.full_name,
        scanned_document=f"%PDF-1.4 scan signed by {patient.full_name}".encode(),
    )
    consent_withdraw(actor=staff, consent=paper, reason="Asked at the desk")
    outbox_message_enqueue(
        channel="email",
        topic="appointment.reminder",
        to_address=patient.email,
        patient_id=patient.pk,
        subject="Your appointment",
        text=f"Dear {patient.full_name}, see you tomorrow ({tag}).",
    )
    patient.refresh_from_db()  # fixtures that save this same object later must not undo the changes
    return patient


@pytest.fixture
def rich_paul(paul, care_manager_alice, provider_paula, virtual_visit_v1, marketing_email_v1):
    _give_rich_record(paul, staff=care_manager_alice, tag="PAULTAG", phone=PAUL_PHONE, contact="Marie Lefèvre")
    clinical_note_create(actor=provider_paula, patient=paul, text="Paul Lefèvre reports chest pain since Monday; ECG normal.")
    return paul


@pytest.fixture
def rich_petra(petra, care_manager_bob, virtual_visit_v1, marketing_email_v1):
    _give_rich_record(petra, staff=care_manager_bob, tag="PETRATAG", phone=PETRA_PHONE, contact="Giulia Colombo")
    return petra


def _build(request) -> bool:
    """Run the export the way a worker does: through the Celery task, with the id only."""
    return tasks.privacy_export_build.apply(args=[request.pk]).get()


def _export(patient, actor):
    request = privacy_export_request(actor=actor, patient=patient, channel="portal")
    assert _build(request) is True
    request.refresh_from_db()
    return request


# --- the export -------------------------------------------------------------------------------


def test_export_holds_everything_on_the_patient_and_nothing_on_anyone_else(rich_paul, rich_petra, patient_paul, patient_petra):
    # Given Paul and Petra with full records, and a notification addressed to Paul's account
    notice = outbox_message_enqueue(
        channel="in_app", topic="portal.notice", recipient_user=patient_paul, subject="Welcome, Paul", text="Your portal is open."
    )
    outbox_deliver(actor=SystemActor("outbox delivery"), item_id=notice.pk)

    # When Paul asks for his data and the task builds it
    request = _export(rich_paul, patient_paul)

    # Then the JSON holds every part of his record
    assert request.status == "done" and request.json_path and request.pdf_path
    document = json.loads(private_file_path(request.json_path).read_bytes())
    assert document["format"] == "salus.patient-export" and document["patient_id"] == rich_paul.pk
    sections = document["sections"]
    assert sections["patient"]["mrn"] == "MRN-PAUL" and sections["patient"]["phone"] == PAUL_PHONE
    assert sections["patient"]["portal_account"] == "paul@example.org"
    assert [i["value"] for i in sections["identifiers"]] == ["NIR-PAULTAG"]
    assert [c["name"] for c in sections["contacts"]] == ["Marie Lefèvre"]
    assert {m["role"] for m in sections["care_team"]} == {"care_manager", "provider"}
    assert "chest pain" in sections["clinical_notes"][0]["text"]
    for kind in FACT_FACTORIES:
        [fact] = sections[kind.replace("-", "_")]
        assert f"PAULTAG {kind}" in (fact.get("display") or fact.get("reason_display"))
    assert {c["purpose"] for c in sections["consents"]} == {"virtual_visit", "marketing_email"}
    assert [e["event"] for e in sections["consent_ledger"]] == ["signed", "signed", "withdrawn"]
    assert [(a["who"], a["what"], a["resource"]) for a in sections["access_log"]] == [
        ("Alice Test (care manager)", "Record: identity and contact details", "record")
    ]
    assert [m["subject"] for m in sections["messages"]] == ["Your appointment", "Welcome, Paul"]
    assert [n["title"] for n in sections["notifications"]] == ["Welcome, Paul"]
    assert [r["kind"] for r in sections["privacy_requests"]] == ["export"]

    # And neither file holds anything of Petra's
    raw = private_file_path(request.json_path).read_text(encoding="utf-8")
    pdf = pdf_text(private_file_path(request.pdf_path).read_bytes())
    for petras in (
        "Petra",
        "Colombo",
        "MRN-PETRA",
        "petra@example.org",
        "NIR-PETRATAG",
        "PETRATAG",
        PETRA_PHONE,
        "bob@salus.test",
    ):
        assert petras not in raw
        assert petras not in pdf
    # And the PDF is Paul's readable summary, dated in French (his language)
    for pauls in ("Paul", "Lefèvre", "MRN-PAUL", "NIR-PAULTAG", "PAULTAG conditions", "Marie Lefèvre"):
        assert pauls in pdf
    with translation.override("fr"):
        month = formats.date_format(timezone.localtime(request.ready_at), "F")
    assert month in pdf


def test_the_export_names_who_read_the_record_in_words(paul, patient_paul, provider_paula):
    # Given Paul's own read through the API, a provider's read and an account closed since
    access_log_record(actor=patient_paul, patient=paul, resource="medication-requests", channel="api")
    access_log_record(actor=provider_paula, patient=paul, resource="notes", channel="admin")
    AccessLog.objects.filter(actor=provider_paula).update(actor_label="paula@salus.test")
    # When he asks for his data
    request = _export(paul, patient_paul)
    sections = json.loads(private_file_path(request.json_path).read_bytes())["sections"]
    pdf = pdf_text(private_file_path(request.pdf_path).read_bytes())
    # Then each read names a person and a role, and what was read, in words; never an account
    # number or a staff email
    who = {(a["who"], a["what"]) for a in sections["access_log"]}
    assert ("Paul Lefèvre (patient)", "Medications") in who
    assert ("Paula Test (provider)", "Clinical notes") in who
    assert "Paul Lefèvre (patient)" in pdf and "Medications" in pdf
    raw = private_file_path(request.json_path).read_text(encoding="utf-8")
    assert "user #" not in raw and "user #" not in pdf and "paula@salus.test" not in pdf


def test_the_exported_consent_ledger_names_who_signed_in_words(paul, patient_paul, virtual_visit_v1):
    consent_sign(actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method="portal", signer_name="Paul Lefèvre")
    assert ConsentLedgerEntry.objects.get().actor_label == f"user #{patient_paul.pk}"  # the chain names accounts by number
    request = _export(paul, patient_paul)
    sections = json.loads(private_file_path(request.json_path).read_bytes())["sections"]
    assert [(e["event"], e["by"]) for e in sections["consent_ledger"]] == [("signed", "Paul Lefèvre (patient)")]
    assert "user #" not in private_file_path(request.json_path).read_text(encoding="utf-8")


def test_build_is_logged_and_the_patient_is_emailed_without_phi(rich_paul, patient_paul):
    request = _export(rich_paul, patient_paul)
    log = AccessLog.objects.get(resource="export")
    assert (log.patient, log.channel, log.actor, log.actor_label) == (rich_paul, "task", None, "system: data export")
    email = OutboxItem.objects.get(topic="privacy.export.ready", kind="message")
    assert (email.channel, email.to_address, email.patient_id) == ("email", "paul@example.org", rich_paul.pk)
    body = json.dumps(email.payload, ensure_ascii=False)
    assert "/portal/privacy/" in body and request.download_token not in body
    for phi in ("Lefèvre", "MRN-PAUL", PAUL_PHONE, "chest pain", "PAULTAG"):
        assert phi not in body
    assert OutboxItem.objects.filter(topic="privacy.export.ready", kind="event", patient_id=rich_paul.pk).exists()


def test_running_the_task_twice_builds_once(rich_paul, patient_paul):
    request = privacy_export_request(actor=patient_paul, patient=rich_paul, channel="portal")
    assert _build(request) is True
    first = PrivacyRequest.objects.get(pk=request.pk)
    assert _build(request) is False
    assert tasks.privacy_export_build(request.pk) is False
    again = PrivacyRequest.objects.get(pk=request.pk)
    assert (again.json_path, again.pdf_path, again.ready_at) == (first.json_path, first.pdf_path, first.ready_at)
    assert AccessLog.objects.filter(resource="export").count() == 1
    assert OutboxItem.objects.filter(topic="privacy.export.ready", kind="message").count() == 1


def test_the_request_publishes_the_task_with_the_id_only_after_commit(paul, patient_paul, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(tasks.privacy_export_build, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        request = privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
        assert not publish.called  # not before the commit
    assert len(callbacks) >= 1
    assert publish.call_args.kwargs["args"] == [request.pk]


def test_a_failed_build_is_recorded_and_leaves_no_file(paul, patient_paul, admin_ada):
    folder = private_file_path("privacy-exports")
    before = set(folder.glob("*")) if folder.exists() else set()
    request = privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
    with mock.patch.object(privacy_export_module, "export_pdf", side_effect=OSError("disk full")):
        assert _build(request) is False
    request.refresh_from_db()
    assert (request.status, request.error, request.json_path) == ("failed", "OSError", "")
    assert (set(folder.glob("*")) if folder.exists() else set()) == before  # the JSON written first is removed
    privacy.privacy_request_retry(actor=admin_ada, request=request)
    assert _build(request) is True


def test_the_dispatcher_publishes_open_work(paul, petra, patient_paul, patient_petra, admin_ada):
    export = privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
    erasure = privacy_erasure_request(actor=patient_petra, patient=petra, channel="portal")
    privacy_request_decide(actor=admin_ada, request=erasure, approve=True)
    with (
        mock.patch.object(tasks.privacy_export_build, "apply_async") as build,
        mock.patch.object(tasks.privacy_erase_run, "apply_async") as erase,
    ):
        assert tasks.privacy_requests_dispatch() == 2
    assert build.call_args.kwargs["args"] == [export.pk]
    assert erase.call_args.kwargs["args"] == [erasure.pk]


# --- downloads --------------------------------------------------------------------------------


def _url(request, fmt="pdf"):
    return f"/portal/privacy/exports/{request.download_token}/{fmt}/"


def test_the_patient_downloads_both_files_uncached(client, rich_paul, patient_paul):
    request = _export(rich_paul, patient_paul)
    client.force_login(patient_paul)
    for fmt, content_type in (("pdf", "application/pdf"), ("json", "application/json")):
        response = client.get(_url(request, fmt))
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert "attachment" in response["Content-Disposition"]
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == private_file_path(getattr(request, f"{fmt}_path")).read_bytes()
    assert not AccessLog.objects.filter(resource="export", channel="staff").exists()  # one's own data


@pytest.mark.parametrize("who", ["patient_petra", "care_manager_alice", "provider_paula", "front_desk_fay", "care_manager_bob"])
def test_anyone_but_the_patient_or_an_administrator_gets_404(client, request, rich_paul, patient_paul, who):
    export = _export(rich_paul, patient_paul)
    client.force_login(request.getfixturevalue(who))
    assert client.get(_url(export)).status_code == 404
    assert client.get(_url(export, "json")).status_code == 404


def test_an_administrator_downloads_and_the_read_is_logged(client, rich_paul, patient_paul, admin_ada):
    export = _export(rich_paul, patient_paul)
    client.force_login(admin_ada)
    assert client.get(_url(export)).status_code == 200
    log = AccessLog.objects.get(resource="export", channel="staff")
    assert (log.actor, log.patient, log.path) == (admin_ada, rich_paul, _url(export))


def test_unknown_tokens_formats_and_anonymous_users(client, rich_paul, patient_paul):
    export = _export(rich_paul, patient_paul)
    assert client.get(_url(export)).status_code == 302  # to sign in
    client.force_login(patient_paul)
    assert client.get("/portal/privacy/exports/not-a-token/pdf/").status_code == 404
    assert client.get(_url(export, "xml")).status_code == 404
    assert client.get(f"/portal/privacy/exports/{export.download_token}/").status_code == 404


def test_an_anonymous_click_on_the_link_signs_in_without_the_token_in_any_url(client, rich_paul, patient_paul):
    export = _export(rich_paul, patient_paul)
    response = client.get(_url(export))
    assert response.status_code == 302
    location = response["Location"]
    assert export.download_token not in location
    assert location == "/accounts/login/?next=/portal/privacy/"
    # Signed in, the privacy page lists the download.
    client.force_login(patient_paul)
    page = client.get("/portal/privacy/").content.decode()
    assert _url(export) in page


def test_an_expired_link_answers_410_with_a_page_saying_what_to_do(client, rich_paul, patient_paul, patient_petra):
    export = _export(rich_paul, patient_paul)
    PrivacyRequest.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timezone.timedelta(minutes=1))
    client.force_login(patient_paul)
    response = client.get(_url(export))
    assert response.status_code == 410
    assert "no-store" in response["Cache-Control"]
    assert 'href="/portal/privacy/"' in response.content.decode()
    client.force_login(patient_petra)
    assert client.get(_url(export)).status_code == 404  # expiry is no reason to reveal it exists


def test_the_link_lifetime_comes_from_the_setting(settings, paul, patient_paul):
    settings.SALUS_EXPORT_LINK_HOURS = 5
    request = _export(paul, patient_paul)
    assert request.expires_at - request.ready_at == timezone.timedelta(hours=5)


# --- the portal page --------------------------------------------------------------------------


def test_portal_page_lists_ones_own_requests_with_links(client, paul, petra, patient_paul, patient_petra):
    mine = _export(paul, patient_paul)
    theirs = _export(petra, patient_petra)
    client.force_login(patient_paul)
    page = client.get("/portal/privacy/").content.decode()
    assert _url(mine) in page and _url(mine, "json") in page
    assert theirs.download_token not in page


def test_portal_request_goes_through_the_service(client, paul, patient_paul):
    client.force_login(patient_paul)
    with mock.patch.object(tasks.privacy_export_build, "apply_async"):
        response = client.post("/portal/privacy/", {"kind": "export"})
    assert response.status_code == 302
    request = PrivacyRequest.objects.get()
    assert (request.patient, request.kind, request.channel, request.requested_by) == (paul, "export", "portal", patient_paul)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"kind": "delete-everything"}, "kind"),
        ({}, "kind"),
        ({"kind": "erasure"}, "confirm"),
        ({"kind": "export", "reason": "x" * 2001}, "reason"),
    ],
)
def test_portal_bad_input_names_the_field_and_changes_nothing(client, paul, patient_paul, form, field):
    client.force_login(patient_paul)
    response = client.post("/portal/privacy/", form)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="field-errors"' in response.content.decode()
    assert not PrivacyRequest.objects.exists()


def test_a_second_open_request_of_the_same_kind_is_refused_beside_the_field(client, paul, patient_paul):
    client.force_login(patient_paul)
    client.post("/portal/privacy/", {"kind": "erasure", "confirm": "on"})
    response = client.post("/portal/privacy/", {"kind": "erasure", "confirm": "on"})
    assert "kind" in response.context["form"].errors
    assert PrivacyRequest.objects.count() == 1


def test_staff_have_no_privacy_page_of_their_own(client, care_manager_alice):
    client.force_login(care_manager_alice)
    assert client.get("/portal/privacy/").status_code == 404


def test_portal_page_queries_do_not_grow_with_requests(client, paul, patient_paul, django_assert_num_queries):
    client.force_login(patient_paul)

    def requests(n):
        for _ in range(n):
            request = privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
            PrivacyRequest.objects.filter(pk=request.pk).update(status="done")

    requests(2)
    # session, user, patient (middleware's language), patient (selector), requests
    with django_assert_num_queries(5):
        client.get("/portal/privacy/")
    requests(5)
    with django_assert_num_queries(5):
        client.get("/portal/privacy/")


# --- requests and decisions: the services -----------------------------------------------------


def test_unknown_kind_and_second_open_request_name_the_field(paul, patient_paul):
    with pytest.raises(ValidationError) as err:
        privacy_request_create(actor=patient_paul, patient=paul, kind="forget-me", channel="portal")
    assert "kind" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        privacy_request_create(actor=patient_paul, patient=paul, kind="export", channel="fax")
    assert "channel" in err.value.message_dict
    privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
    with pytest.raises(ValidationError) as err:
        privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
    assert "kind" in err.value.message_dict
    assert PrivacyRequest.objects.count() == 1


def test_a_patient_cannot_ask_for_another_patient(paul, petra, patient_petra, care_manager_bob):
    for actor in (patient_petra, care_manager_bob):  # Bob is Petra's care manager, not Paul's
        with pytest.raises(PermissionDenied):
            privacy_export_request(actor=actor, patient=paul, channel="portal")
    assert not PrivacyRequest.objects.exists()


def test_an_erasure_request_tells_the_administrators(paul, patient_paul, admin_ada):
    request = privacy_erasure_request(actor=patient_paul, patient=paul, channel="portal", reason="Moving abroad")
    note = OutboxItem.objects.get(topic="staff.notification", channel="in_app", recipient_user=admin_ada)
    assert note.payload["link"] == f"/admin/privacy/privacyrequest/{request.pk}/change/"
    assert "Paul" not in json.dumps(note.payload) and "MRN-PAUL" not in json.dumps(note.payload)


@pytest.mark.parametrize("who", ["care_manager_alice", "front_desk_fay", "patient_paul", "provider_paula"])
def test_only_an_administrator_decides(request, paul, patient_paul, who):
    erasure = privacy_erasure_request(actor=patient_paul, patient=paul, channel="portal")
    with pytest.raises(PermissionDenied):
        privacy_request_decide(actor=request.getfixturevalue(who), request=erasure, approve=True)
    erasure.refresh_from_db()
    assert erasure.status == "requested"
    with pytest.raises(PermissionDenied):
        privacy_erase(actor=request.getfixturevalue(who), request=erasure)  # only an administrator erases
    assert Patient.objects.get(pk=paul.pk).family_name == "Lefèvre"


def test_a_rejection_needs_a_note_and_the_patient_reads_it(client, paul, patient_paul, admin_ada):
    erasure = privacy_erasure_request(actor=patient_paul, patient=paul, channel="portal")
    with pytest.raises(ValidationError) as err:
        privacy_request_decide(actor=admin_ada, request=erasure, approve=False, note="  ")
    assert "decision_note" in err.value.message_dict
    erasure.refresh_from_db()
    assert erasure.status == "requested"
    privacy_request_decide(actor=admin_ada, request=erasure, approve=False, note="Records under a court hold until 2027.")
    erasure.refresh_from_db()
    assert (erasure.status, erasure.decided_by) == ("rejected", admin_ada)
    email = OutboxItem.objects.get(topic="privacy.request.answered")
    assert email.to_address == "paul@example.org" and "court" not in json.dumps(email.payload)
    client.force_login(patient_paul)
    assert "Records under a court hold until 2027." in client.get("/portal/privacy/").content.decode()
    with pytest.raises(ValidationError) as err:
        privacy_request_decide(actor=admin_ada, request=erasure, approve=True)
    assert "status" in err.value.message_dict


# --- the admin --------------------------------------------------------------------------------


def test_admin_decide_page_is_for_administrators_only(
    client, paul, patient_paul, admin_ada, care_manager_alice, care_manager_bob, django_capture_on_commit_callbacks
):
    erasure = privacy_erasure_request(actor=patient_paul, patient=paul, channel="portal")
    url = f"/admin/privacy/privacyrequest/{erasure.pk}/decide/"
    client.force_login(care_manager_bob)  # does not see Paul
    assert client.post(url, {"decision": "approve"}).status_code == 404
    assert client.get(f"/admin/privacy/privacyrequest/{erasure.pk}/change/").status_code == 404
    client.force_login(care_manager_alice)  # sees Paul's request, may not decide
    assert client.get(f"/admin/privacy/privacyrequest/{erasure.pk}/change/").status_code == 200
    assert client.post(url, {"decision": "approve"}).status_code == 403
    client.force_login(patient_paul)
    assert client.post(url, {"decision": "approve"}).status_code == 403  # not a staff account
    erasure.refresh_from_db()
    assert erasure.status == "requested"

    client.force_login(admin_ada)
    assert url in client.get(f"/admin/privacy/privacyrequest/{erasure.pk}/change/").content.decode()
    response = client.post(url, {"decision": "reject", "decision_note": ""})
    assert response.status_code == 200 and "decision_note" in response.context["form"].errors
    response = client.post(url, {"decision": "maybe"})
    assert response.status_code == 200 and "decision" in response.context["form"].errors
    erasure.refresh_from_db()
    assert erasure.status == "requested"
    with (
        mock.patch.object(tasks.privacy_erase_run, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(url, {"decision": "approve", "decision_note": "Identity checked at the desk."})
    assert response.status_code == 302
    erasure.refresh_from_db()
    assert (erasure.status, erasure.decided_by) == ("approved", admin_ada)
    assert publish.call_args.kwargs["args"] == [erasure.pk]


def test_staff_record_a_request_for_a_patient_they_see(client, paul, petra, front_desk_fay, care_manager_alice):
    client.force_login(front_desk_fay)
    response = client.post("/admin/privacy/privacyrequest/add/", {"mrn": "MRN-PAUL", "kind": "erasure", "reason": "Letter"})
    assert response.status_code == 302
    request = PrivacyRequest.objects.get()
    assert (request.patient, request.channel, request.requested_by) == (paul, "admin", front_desk_fay)
    response = client.post("/admin/privacy/privacyrequest/add/", {"mrn": "MRN-PAUL", "kind": "erasure"})
    assert "kind" in response.context["form"].errors  # the open one
    response = client.post("/admin/privacy/privacyrequest/add/", {"mrn": "MRN-NOBODY", "kind": "export"})
    assert "mrn" in response.context["form"].errors
    client.force_login(care_manager_alice)  # Petra is not on her care team
    response = client.post("/admin/privacy/privacyrequest/add/", {"mrn": "MRN-PETRA", "kind": "export"})
    assert "mrn" in response.context["form"].errors
    response = client.post("/admin/privacy/privacyrequest/add/", {"mrn": "MRN-PAUL", "kind": "everything"})
    assert "kind" in response.context["form"].errors
    assert PrivacyRequest.objects.count() == 1


def test_admin_changelist_is_scoped_and_its_queries_do_not_grow(
    client, paul, petra, patient_paul, patient_petra, admin_ada, care_manager_alice, outreach_olga, django_assert_num_queries
):
    privacy_erasure_request(actor=patient_paul, patient=paul, channel="portal")
    privacy_erasure_request(actor=patient_petra, patient=petra, channel="portal")
    client.force_login(care_manager_alice)
    rows = client.get("/admin/privacy/privacyrequest/").context["cl"].result_list
    assert [r.patient for r in rows] == [paul]
    client.force_login(outreach_olga)
    assert client.get("/admin/privacy/privacyrequest/").status_code == 403

    client.force_login(admin_ada)
    client.get("/admin/privacy/privacyrequest/")  # warm the per-process caches (content types)
    # The count with two rows (session, user, roles, the row count, one page of rows joined to
    # their patients, the admin's own queries) must stay the same with five.
    with CaptureQueriesContext(connection) as two_rows:
        client.get("/admin/privacy/privacyrequest/")
    for _ in range(3):
        privacy_export_request(actor=admin_ada, patient=paul, channel="admin")
        PrivacyRequest.objects.filter(status="requested", kind="export").update(status="done")
    with django_assert_num_queries(len(two_rows)):
        response = client.get("/admin/privacy/privacyrequest/")
    assert len(response.context["cl"].result_list) == 5


# --- erasure ----------------------------------------------------------------------------------


def _pattern(*needles: str) -> re.Pattern:
    variants = set()
    for n in needles:
        variants |= {re.escape(n), re.escape(json.dumps(n)[1:-1])}  # also as escaped inside JSON
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(variants, key=len, reverse=True)) + r")(?!\w)", re.IGNORECASE)


def _phone(number: str) -> str:
    return r"\+?" + r"[\s().-]*".join(re.sub(r"\D", "", number))


def _scan_every_table(pattern: re.Pattern) -> list[str]:
    """Every value of every column of every table in the database, searched for `pattern`."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", errors="ignore")
                    elif isinstance(value, dict | list):  # a JSON column some drivers decode
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str) and pattern.search(value):
                        hits.append(f"{table}.{column}: {value[:120]!r}")
    return hits


def _pauls_identity() -> re.Pattern:
    return re.compile(
        _pattern("Paul", "Lefèvre", "paul@example.org", "MRN-PAUL", "NIR-PAULTAG", "Marie Lefèvre", "PAULTAG street 7").pattern
        + "|"
        + _phone(PAUL_PHONE),
        re.IGNORECASE,
    )


def _erase(patient, *, patient_user, admin):
    erasure = privacy_erasure_request(actor=patient_user, patient=patient, channel="portal", reason="Please forget me")
    privacy_request_decide(actor=admin, request=erasure, approve=True, note="Identity checked.")
    assert tasks.privacy_erase_run(erasure.pk) is True
    erasure.refresh_from_db()
    return erasure


def test_after_erasure_no_table_holds_the_patients_identity(client, api, rich_paul, rich_petra, patient_paul, admin_ada):
    # Given Paul's full record, a built export, his portal session and API token, a staff email
    # quoting his MRN, an admin log entry, and a clinical note that names him
    export = _export(rich_paul, patient_paul)
    client.force_login(patient_paul)
    api.as_user(patient_paul)
    for item in OutboxItem.objects.filter(topic="staff.notification", channel="in_app"):
        outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk)
    assert Notification.objects.filter(body__contains="MRN-PAUL").exists()
    LogEntry.objects.log_actions(
        user_id=admin_ada.pk,
        queryset=[rich_paul],
        action_flag=CHANGE,
        change_message=[{"added": {"name": "identifier", "object": "urn:oid:1.2.250.1.213.1.4.8|NIR-PAULTAG"}}],
        single_object=True,
    )
    files = [private_file_path(p) for p in (export.json_path, export.pdf_path)]
    for consent in Consent.objects.filter(patient=rich_paul):
        files += [private_file_path(p) for p in (consent.receipt_path, consent.scanned_document) if p]
    assert len(files) == 5 and all(f.exists() for f in files)
    pending = OutboxItem.objects.get(topic="appointment.reminder", patient_id=rich_paul.pk)
    ledger_before = list(ConsentLedgerEntry.objects.values_list("pk", "entry_hash"))
    log_before = list(AccessLog.objects.values_list("pk", "entry_hash"))
    assert _scan_every_table(_pauls_identity())  # the scan finds him before

    # When an administrator approves his erasure request and the task carries it out
    erasure = _erase(rich_paul, patient_user=patient_paul, admin=admin_ada)

    # Then no column of any table, history tables included, holds his names, email, phone, MRN,
    # identifier, contact person or address
    assert erasure.status == "done"
    assert _scan_every_table(_pauls_identity()) == []
    # while Petra's record, scanned the same way, is all there
    assert _scan_every_table(_pattern("Colombo", "MRN-PETRA", "NIR-PETRATAG"))

    # And the record is pseudonymized, the birth date cut to the year
    paul = Patient.objects.get(pk=rich_paul.pk)
    assert (paul.given_name, paul.mrn, paul.email, paul.phone, paul.city, paul.active) == (
        "Erased",
        f"ERASED-{paul.pk}",
        "",
        "",
        "",
        False,
    )
    assert paul.family_name.startswith("Patient-") and paul.family_name == privacy.erasure_pseudonym(paul.pk)
    assert (paul.birth_date.month, paul.birth_date.day, paul.birth_date.year) == (1, 1, rich_paul.birth_date.year)
    assert (
        not PatientIdentifier.objects.filter(patient=paul).exists() and not PatientContact.objects.filter(patient=paul).exists()
    )
    assert paul.history.count() > 1  # the versions are kept, rewritten
    # Clinical content stays, without his name
    note = ClinicalNote.objects.get(patient=paul)
    assert note.text == "[erased] reports chest pain since Monday; ECG normal."
    # Receipts, scans and exports are gone, their hashes kept
    assert not any(f.exists() for f in files)
    assert all(c.receipt_sha256 and not c.receipt_path for c in Consent.objects.filter(patient=paul))
    assert not Consent.objects.filter(patient=paul, status="active").exists()  # withdrawn on erasure
    # The pending message is cancelled and scrubbed
    pending.refresh_from_db()
    assert (pending.status, pending.to_address) == ("cancelled", "")
    # The portal account is closed: session ended, token gone, no verified address
    account = type(patient_paul).objects.get(pk=patient_paul.pk)
    assert not account.is_active and not account.has_usable_password() and account.email.endswith("@erased.invalid")
    assert client.get("/portal/").status_code == 302
    assert api.get("/api/v1/me/").status_code == 401
    # The audit trail is whole: old rows unchanged, chains verify, the erasure itself recorded
    assert set(ledger_before) <= set(ConsentLedgerEntry.objects.values_list("pk", "entry_hash"))
    assert set(log_before) <= set(AccessLog.objects.values_list("pk", "entry_hash"))
    assert verify_all() == []
    assert OutboxItem.objects.filter(topic="patient.erased", patient_id=paul.pk, kind="event").exists()


def test_erasure_runs_once(rich_paul, patient_paul, admin_ada):
    erasure = _erase(rich_paul, patient_user=patient_paul, admin=admin_ada)
    assert tasks.privacy_erase_run(erasure.pk) is False
    assert privacy_erase(actor=admin_ada, request=erasure).status == "done"
    assert OutboxItem.objects.filter(topic="patient.erased").count() == 1
    with pytest.raises(ValidationError) as err:
        privacy_export_request(actor=admin_ada, patient=rich_paul, channel="admin")
    assert "kind" in err.value.message_dict


def test_an_erasure_ends_open_exports(rich_paul, patient_paul, admin_ada):
    export = privacy_export_request(actor=patient_paul, patient=rich_paul, channel="portal")
    _erase(rich_paul, patient_user=patient_paul, admin=admin_ada)
    export.refresh_from_db()
    assert export.status == "failed"
    assert _build(export) is False


def test_a_patient_who_signed_in_the_portal_leaves_no_email_in_the_chains(paul, patient_paul, admin_ada, virtual_visit_v1):
    # The chained rows, which erasure may not rewrite, name a patient actor by account number.
    consent_sign(actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method="portal", signer_name="Paul Lefèvre")
    access_log_record(actor=patient_paul, patient=paul, resource="record", channel="api")
    assert _scan_every_table(_pattern("paul@example.org"))  # the record and the account hold it before
    _erase(paul, patient_user=patient_paul, admin=admin_ada)
    assert _scan_every_table(_pattern("Paul", "Lefèvre", "paul@example.org", "MRN-PAUL")) == []
    assert verify_all() == []


# --- a real worker process (integration tier: PostgreSQL and Redis) ---------------------------

from tests.integration.conftest import _smtp_server_for_session, committed_db, smtp_server, start_worker  # noqa: E402, F401
from tests.integration.support import wait_until  # noqa: E402


@pytest.mark.integration
def test_a_worker_process_builds_the_export_and_emails_the_patient(paul, patient_paul, start_worker, smtp_server):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("integration tier: needs PostgreSQL and Redis (run `make integration`)")
    # Given Paul's request, committed: the commit publishes the build task (the id only) to Redis
    with transaction.atomic():
        request = privacy_export_request(actor=patient_paul, patient=paul, channel="portal")

    # When a worker process starts
    worker = start_worker()

    # Then it builds the export, and the email it queues reaches the SMTP server, without PHI
    wait_until(
        lambda: PrivacyRequest.objects.get(pk=request.pk).status == "done", what="the export to be built", details=worker.details
    )
    request.refresh_from_db()
    assert private_file_path(request.json_path).exists() and private_file_path(request.pdf_path).exists()
    [message] = wait_until(lambda: smtp_server.sink.messages_to("paul@example.org"), what="the email at the SMTP server")
    body = message.get_payload(decode=True).decode()
    assert "/portal/privacy/" in body
    for phi in ("Lefèvre", "MRN-PAUL", request.download_token):
        assert phi not in body and phi not in message["Subject"]
    assert worker.tasks_succeeded("privacy.tasks.privacy_export_build") == 1


def test_an_erasure_replaces_a_representatives_name(paul, patient_paul, front_desk_fay, admin_ada, virtual_visit_v1):
    consent = consent_sign(
        actor=front_desk_fay,
        patient=paul,
        purpose=Purpose.VIRTUAL_VISIT,
        method="in_person",
        witness=front_desk_fay,
        signer_name="Marie Lefèvre",
        representative_capacity="guardian",
    )
    _erase(paul, patient_user=patient_paul, admin=admin_ada)
    consent.refresh_from_db()
    assert (consent.representative_name, consent.representative_capacity) == ("[erased]", "guardian")
    assert not Consent.history.filter(id=consent.pk, representative_name__contains="Marie").exists()
    assert not Consent.history.filter(id=consent.pk, signer_name__contains="Marie").exists()
