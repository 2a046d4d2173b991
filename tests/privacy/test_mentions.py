"""An erasure and other patients' records that quote the erased patient: found, listed for an
administrator, redacted (the note and its past versions) or kept with a reason, never rewritten
silently."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.privacy import MentionFinder
from notifications.models import OutboxItem
from patients.models import ClinicalNote
from patients.services import clinical_note_create, clinical_note_mentions_redact, patient_update
from privacy import tasks
from privacy.models import ErasureMention
from privacy.services import erasure_mention_decide, privacy_erasure_request, privacy_request_decide

pytestmark = pytest.mark.django_db

PETRA_PHONE = "+33 3 72 00 78 97"
QUOTE = "Lives alone. Neighbour Petra Colombo (03 72 00 78 97) drives him to dialysis."
CHANGELIST = "/admin/privacy/erasuremention/"


def _decide_url(mention):
    return f"{CHANGELIST}{mention.pk}/decide/"


@pytest.fixture
def quoting_notes(paul, petra, provider_paula, admin_ada):
    """Paul's notes quote Petra: one now, one only in a past version; Petra's own note names her."""
    patient_update(actor=admin_ada, patient=petra, changes={"phone": PETRA_PHONE})
    now = clinical_note_create(actor=provider_paula, patient=paul, text=QUOTE)
    before = clinical_note_create(actor=provider_paula, patient=paul, text="Daughter-in-law PETRA COLOMBÒ calls daily.")
    before.text = "Family calls daily."
    before._history_user = provider_paula
    before.save()
    unrelated = clinical_note_create(actor=provider_paula, patient=paul, text="Petra (no relation) is his physiotherapist.")
    own = clinical_note_create(actor=provider_paula, patient=petra, text="Petra Colombo seen for a sprained ankle.")
    return {"now": now, "before": before, "unrelated": unrelated, "own": own}


def _erase_petra(petra, patient_petra, admin_ada):
    erasure = privacy_erasure_request(actor=patient_petra, patient=petra, channel="portal", reason="Forget me")
    privacy_request_decide(actor=admin_ada, request=erasure, approve=True)
    assert tasks.privacy_erase_run(erasure.pk) is True
    return erasure


def _versions(note):
    return list(ClinicalNote.history.filter(id=note.pk).order_by("history_id").values_list("text", flat=True))


def test_the_erasure_lists_mentions_in_other_records_and_rewrites_none_of_them(petra, patient_petra, admin_ada, quoting_notes):
    # Given Paul's notes quoting Petra (by name and by phone, now and in a past version)
    paul_versions = {key: _versions(quoting_notes[key]) for key in ("now", "before", "unrelated")}
    # When Petra is erased
    erasure = _erase_petra(petra, patient_petra, admin_ada)
    # Then Paul's record is not rewritten silently: every note and version is as it was
    for key, versions in paul_versions.items():
        assert _versions(quoting_notes[key]) == versions
    # and each note quoting her is listed for review, with the words as they are written there
    mentions = {m.object_id: m for m in ErasureMention.objects.filter(request=erasure)}
    assert set(mentions) == {quoting_notes["now"].pk, quoting_notes["before"].pk}
    now, before = mentions[quoting_notes["now"].pk], mentions[quoting_notes["before"].pk]
    assert (now.model, now.owner_patient_id, now.status, now.in_current_text) == (
        "patients.clinicalnote",
        quoting_notes["now"].patient_id,
        "pending",
        True,
    )
    assert set(now.texts) == {"Petra Colombo", "03 72 00 78 97"}
    assert (before.texts, before.in_current_text) == (["PETRA COLOMBÒ"], False)
    # while her own note is scrubbed by the erasure as before
    assert "Colombo" not in ClinicalNote.objects.get(pk=quoting_notes["own"].pk).text
    # and the administrators are told, without a name in the message
    told = OutboxItem.objects.filter(topic="staff.notification", dedupe_key__startswith=f"privacy-erasure-mentions:{erasure.pk}:")
    assert {(item.channel, item.recipient_user) for item in told} == {("in_app", admin_ada), ("email", admin_ada)}
    assert all("2 mentions" in str(item.payload) and "Colombo" not in str(item.payload) for item in told)


def test_an_administrator_redacts_a_mention_in_the_note_and_its_history(client, petra, patient_petra, admin_ada, quoting_notes):
    erasure = _erase_petra(petra, patient_petra, admin_ada)
    mention = ErasureMention.objects.get(request=erasure, object_id=quoting_notes["now"].pk)
    client.force_login(admin_ada)
    page = client.get(CHANGELIST).content.decode()
    assert "LEFÈVRE, Paul (MRN-PAUL)" in page and "Petra Colombo" in page
    page = client.get(_decide_url(mention)).content.decode()
    assert "03 72 00 78 97" in page and f"/admin/patients/clinicalnote/{mention.object_id}/change/" in page

    response = client.post(_decide_url(mention), {"decision": "redact", "decision_reason": ""})

    assert response.status_code == 302
    note = ClinicalNote.objects.get(pk=quoting_notes["now"].pk)
    assert note.text == "Lives alone. Neighbour [redacted] ([redacted]) drives him to dialysis."
    versions = ClinicalNote.history.filter(id=note.pk).order_by("history_id")
    assert all("Colombo" not in v.text and "78 97" not in v.text for v in versions)
    assert versions.last().history_user == admin_ada  # the redaction is a version of its own, by whom decided
    mention.refresh_from_db()
    assert (mention.status, mention.decided_by, mention.texts) == ("redacted", admin_ada, [])
    assert mention.decided_at is not None
    assert all(h.texts == [] for h in mention.history.all())  # the words are not kept in the item either
    assert LogEntry.objects.filter(object_id=str(mention.pk), change_message="Redacted").exists()
    # A decision is taken once
    assert client.post(_decide_url(mention), {"decision": "keep", "decision_reason": "Changed my mind"}).status_code == 400
    mention.refresh_from_db()
    assert mention.status == "redacted"


def test_keeping_a_mention_needs_a_reason_and_changes_no_record(client, petra, patient_petra, admin_ada, quoting_notes):
    erasure = _erase_petra(petra, patient_petra, admin_ada)
    mention = ErasureMention.objects.get(request=erasure, object_id=quoting_notes["before"].pk)
    versions = _versions(quoting_notes["before"])
    client.force_login(admin_ada)
    for bad in (
        {"decision": "keep", "decision_reason": "  "},
        {"decision": "shred"},
        {},
        {"decision": "keep", "decision_reason": "x" * 2001},
    ):
        response = client.post(_decide_url(mention), bad)
        assert response.status_code == 400
        assert set(response.context["form"].errors) & {"decision", "decision_reason"}
        mention.refresh_from_db()
        assert mention.status == "pending" and mention.texts == ["PETRA COLOMBÒ"]
    response = client.post(_decide_url(mention), {"decision": "keep", "decision_reason": "Historical wording, reviewed."})
    assert response.status_code == 302
    mention.refresh_from_db()
    assert (mention.status, mention.decided_by, mention.decision_reason) == ("kept", admin_ada, "Historical wording, reviewed.")
    assert _versions(quoting_notes["before"]) == versions
    assert LogEntry.objects.filter(object_id=str(mention.pk), change_message="Kept").exists()


@pytest.mark.parametrize("who", ["care_manager_alice", "provider_paula", "front_desk_fay", "outreach_olga"])
def test_only_administrators_see_and_decide_mentions(client, request, who, petra, patient_petra, admin_ada, quoting_notes):
    erasure = _erase_petra(petra, patient_petra, admin_ada)
    mention = ErasureMention.objects.filter(request=erasure).first()
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(_decide_url(mention)).status_code == 404
    assert client.post(_decide_url(mention), {"decision": "redact"}).status_code == 404
    with pytest.raises(PermissionDenied):
        erasure_mention_decide(actor=user, mention=mention, redact=True)
    with pytest.raises(PermissionDenied):
        clinical_note_mentions_redact(actor=user, note=quoting_notes["now"], texts=["Petra Colombo"])
    mention.refresh_from_db()
    assert mention.status == "pending"
    assert ClinicalNote.objects.get(pk=quoting_notes["now"].pk).text == QUOTE


def test_the_redaction_service_refuses_nothing_to_redact(admin_ada, quoting_notes):
    with pytest.raises(ValidationError) as err:
        clinical_note_mentions_redact(actor=admin_ada, note=quoting_notes["now"], texts=["", "  "])
    assert "texts" in err.value.message_dict


def test_the_changelist_queries_do_not_grow_with_mentions(client, paul, petra, patient_petra, admin_ada, provider_paula):
    patient_update(actor=admin_ada, patient=petra, changes={"phone": PETRA_PHONE})

    def count():
        client.force_login(admin_ada)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CHANGELIST).status_code == 200
        return len(queries)

    clinical_note_create(actor=provider_paula, patient=paul, text=QUOTE)
    erasure = _erase_petra(petra, patient_petra, admin_ada)
    few = count()
    for i in range(8):
        note = clinical_note_create(actor=provider_paula, patient=paul, text=f"{i}: {QUOTE}")
        ErasureMention.objects.create(
            request=erasure, model="patients.clinicalnote", object_id=note.pk, owner_patient=paul, texts=["Petra Colombo"]
        )
    assert count() == few


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Neighbour Petra Colombo (03 72 00 78 97) drives him", ["Petra Colombo", "03 72 00 78 97"]),
        ("colombo petra called from +33372007897", ["colombo petra", "+33372007897"]),
        ("Mail: PETRA@example.org", ["PETRA@example.org"]),
        ("Petra Colombotti and Petra alone, 03 72 00 78 98", []),
    ],
)
def test_names_and_numbers_are_found_however_they_are_written(text, found):
    finder = MentionFinder(names=["Petra Colombo", "Colombo Petra"], emails=["petra@example.org"], phones=[PETRA_PHONE])
    assert finder.found(text) == found
