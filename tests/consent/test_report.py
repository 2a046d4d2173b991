"""The audit report: administrators only, reads and consent events over a period, filters, CSV,
the hash-chain status, and a query count that does not grow with the rows."""

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from audit.chain import chain_append
from consent.models import ConsentLedgerEntry, Purpose
from consent.report_admin import CSV_COLUMNS
from consent.services import consent_sign, consent_withdraw
from patients.models import AccessLog
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REPORT = "/admin/audit-report/"
EXPORT = "/admin/audit-report/export/"


def read(actor, patient, *, resource="record", channel="admin", at=None, ip="192.0.2.1"):
    """A read written through the access log's hash chain, at a chosen moment."""
    return chain_append(
        AccessLog(
            created_at=at or timezone.now(),
            actor=actor,
            actor_label=actor.email if actor else "system",
            patient=patient,
            action="view",
            resource=resource,
            channel=channel,
            ip_address=ip,
            path=f"/admin/patients/patient/{patient.pk}/change/",
        )
    )


def ledger_event(consent, *, event, actor, at):
    """A consent-ledger entry at a chosen moment, written through the ledger's hash chain."""
    return chain_append(
        ConsentLedgerEntry(
            at=at,
            consent=consent,
            patient_id=consent.patient_id,
            purpose=consent.purpose,
            event=event,
            actor=actor,
            actor_label=actor.email,
            text_sha256=consent.text_sha256,
        )
    )


def sign(patient, user, purpose=Purpose.VIRTUAL_VISIT):
    return consent_sign(
        actor=user,
        patient=patient,
        purpose=purpose,
        method="portal",
        signer_name=patient.full_name,
        ip_address="198.51.100.7",
        user_agent="Firefox",
    )


def form(**filters):
    data = {"date_from": "", "date_to": "", "actor_email": "", "mrn": "", "channel": "", "resource": "", "kind": ""}
    return data | {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in filters.items()}


def entries(response):
    return [(row["kind"], row["seq"]) for row in response.context["rows"]]


def csv_rows(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def ada(client, admin_ada):
    client.force_login(admin_ada)
    return admin_ada


@pytest.fixture
def traffic(
    paul, petra, patient_paul, care_manager_alice, care_manager_bob, front_desk_fay, virtual_visit_v1, marketing_email_v1
):
    """Given reads of Paul and Petra through several channels and resources, and consent events.

    Petra's consent is signed by front desk, so that an actor filter finds a consent event too.
    """
    now = timezone.now()
    reads = {
        "alice_paul_admin": read(care_manager_alice, paul, at=now - dt.timedelta(hours=5)),
        "alice_paul_api_notes": read(care_manager_alice, paul, resource="notes", channel="api", at=now - dt.timedelta(hours=4)),
        "bob_petra_admin": read(care_manager_bob, petra, at=now - dt.timedelta(hours=3)),
        "fay_petra_admin": read(front_desk_fay, petra, at=now - dt.timedelta(hours=2)),
        "alice_paul_old": read(care_manager_alice, paul, at=now - dt.timedelta(days=45)),
    }
    paul_consent = sign(paul, patient_paul)
    consent_withdraw(actor=patient_paul, consent=paul_consent, reason="changed my mind")
    petra_consent = consent_sign(
        actor=front_desk_fay,
        patient=petra,
        purpose=Purpose.MARKETING_EMAIL,
        method="in_person",
        signer_name=petra.full_name,
        witness=front_desk_fay,
    )
    events = {e.event + "_" + str(e.patient_id): e for e in ConsentLedgerEntry.objects.all()}
    return {"reads": reads, "events": events, "paul_consent": paul_consent, "petra_consent": petra_consent}


# --- who may see it ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["care_manager_alice", "care_manager_bob", "front_desk_fay", "outreach_olga", "patient_paul"])
def test_everyone_but_administrators_gets_404(client, request, who, paul):
    read(request.getfixturevalue("care_manager_alice"), paul)
    client.force_login(request.getfixturevalue(who))
    assert client.get(REPORT).status_code == 404
    assert client.post(REPORT, form(mrn=paul.mrn)).status_code == 404
    assert client.post(EXPORT, form()).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for response in (client.get(REPORT), client.post(EXPORT, form())):
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_a_deactivated_administrator_is_signed_out(client, admin_ada):
    client.force_login(admin_ada)
    admin_ada.is_active = False
    admin_ada.save()
    for response in (client.get(REPORT), client.post(EXPORT, form())):
        assert response.status_code == 302 and "/login/" in response["Location"]


# --- what it shows ----------------------------------------------------------------------------


def test_default_report_merges_the_last_30_days_of_reads_and_consent_events_newest_first(client, ada, traffic):
    response = client.get(REPORT)
    assert response.status_code == 200
    r, e = traffic["reads"], traffic["events"]
    petra_id, paul_id = traffic["petra_consent"].patient_id, traffic["paul_consent"].patient_id
    assert entries(response) == [
        ("consent", e[f"signed_{petra_id}"].chain_seq),
        ("consent", e[f"withdrawn_{paul_id}"].chain_seq),
        ("consent", e[f"signed_{paul_id}"].chain_seq),
        ("read", r["fay_petra_admin"].chain_seq),
        ("read", r["bob_petra_admin"].chain_seq),
        ("read", r["alice_paul_api_notes"].chain_seq),
        ("read", r["alice_paul_admin"].chain_seq),
    ]  # the 45-day-old read is outside the default period
    form_ = response.context["form"]
    today = timezone.now().astimezone(ZoneInfo(ada.time_zone)).date()
    assert (form_.cleaned_data["date_from"], form_.cleaned_data["date_to"]) == (today - dt.timedelta(days=29), today)


def test_summary_counts_reads_per_channel_and_actor_and_consent_events_per_purpose(client, ada, traffic):
    summary = client.get(REPORT).context["summary"]
    assert summary["reads_total"] == 4
    assert {row["channel"]: row["count"] for row in summary["reads_by_channel"]} == {"admin": 3, "api": 1}
    assert [(row["actor_name"], row["actor"], row["count"]) for row in summary["reads_by_actor"]] == [
        ("Alice Test (care manager)", "alice@salus.test", 2),
        ("Bob Test (care manager)", "bob@salus.test", 1),
        ("Fay Test (front desk)", "fay@salus.test", 1),
    ]
    by_purpose = {row["purpose"]: (row["signed"], row["withdrawn"], row["expired"]) for row in summary["consent_by_purpose"]}
    assert by_purpose == {"virtual_visit": (1, 1, 0), "marketing_email": (1, 0, 0)}
    assert summary["consent_total"] == 3


def test_the_top_actors_are_capped_at_20(client, ada, paul):
    for n in range(23):
        user = UserFactory(email=f"reader{n:02d}@salus.test", is_staff=True)
        for _ in range(n % 3 + 1):
            read(user, paul)
    by_actor = client.get(REPORT).context["summary"]["reads_by_actor"]
    assert len(by_actor) == 20
    assert [row["count"] for row in by_actor][:3] == [3, 3, 3]


def test_an_intact_trail_says_so(client, ada, traffic):
    page = client.get(REPORT).content.decode()
    assert "The audit trail is intact." in page


def test_a_tampered_access_log_row_shows_up_as_a_chain_problem(client, ada, traffic):
    row = traffic["reads"]["bob_petra_admin"]
    AccessLog.objects.filter(pk=row.pk).update(resource="notes")  # tampering, bypassing every service
    response = client.get(REPORT)
    page = response.content.decode()
    assert "The audit trail is broken" in page
    assert f"access_log: row id={row.pk} (seq {row.chain_seq}): content changed after it was written" in page
    assert [p.pk for p in response.context["chain_problems"]] == [row.pk]


def test_the_page_shows_the_stored_verification_until_asked_to_verify_again(client, ada, traffic):
    client.get(REPORT)
    row = traffic["reads"]["bob_petra_admin"]
    AccessLog.objects.filter(pk=row.pk).update(resource="notes")
    assert "The audit trail is intact." in client.get(REPORT).content.decode()
    response = client.post(REPORT, {**form(), "verify_now": "1"})
    assert [p.pk for p in response.context["chain_problems"]] == [row.pk]
    assert "The audit trail is broken" in client.get(REPORT).content.decode()


def test_a_deleted_consent_ledger_row_shows_up_as_a_chain_problem(client, ada, traffic):
    first = ConsentLedgerEntry.objects.order_by("chain_seq").first()
    ConsentLedgerEntry.objects.filter(pk=first.pk).delete()
    page = client.get(REPORT).content.decode()
    assert "consent_ledger: seq 1: missing" in page


# --- filters and the period -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"actor_email": "ALICE@salus.test"}, {"r:alice_paul_admin", "r:alice_paul_api_notes"}),
        ({"actor_email": "fay@salus.test"}, {"r:fay_petra_admin", "e:signed_petra"}),
        ({"mrn": "MRN-PETRA"}, {"r:bob_petra_admin", "r:fay_petra_admin", "e:signed_petra"}),
        ({"mrn": "MRN-NOBODY"}, set()),
        ({"channel": "api"}, {"r:alice_paul_api_notes"}),
        ({"resource": "notes"}, {"r:alice_paul_api_notes"}),
        ({"resource": "virtual_visit"}, {"e:signed_paul", "e:withdrawn_paul"}),
        ({"kind": "read"}, {"r:alice_paul_admin", "r:alice_paul_api_notes", "r:bob_petra_admin", "r:fay_petra_admin"}),
        ({"kind": "consent"}, {"e:signed_paul", "e:withdrawn_paul", "e:signed_petra"}),
        ({"kind": "withdrawn"}, {"e:withdrawn_paul"}),
        ({"kind": "signed", "mrn": "MRN-PAUL"}, {"e:signed_paul"}),
        ({"kind": "consent", "channel": "admin"}, set()),  # consent events have no read channel
        ({"mrn": "MRN-PAUL", "channel": "admin", "resource": "record"}, {"r:alice_paul_admin"}),
    ],
)
def test_filters_select_exactly_the_matching_rows(client, ada, traffic, paul, petra, filters, expected):
    names = {("read", row.chain_seq): f"r:{name}" for name, row in traffic["reads"].items()}
    names |= {
        ("consent", row.chain_seq): "e:" + key.replace(str(paul.pk), "paul").replace(str(petra.pk), "petra")
        for key, row in traffic["events"].items()
    }
    response = client.post(REPORT, form(**filters))
    assert response.status_code == 200, response.context["form"].errors
    assert {names[entry] for entry in entries(response)} == expected


def test_a_period_covers_whole_days_in_the_administrators_time_zone(client, ada, paul, care_manager_alice):
    ada.time_zone = "Pacific/Auckland"
    ada.save()
    auckland = ZoneInfo("Pacific/Auckland")
    day = timezone.now().astimezone(auckland).date() - dt.timedelta(days=5)
    midnight = dt.datetime.combine(day, dt.time.min, tzinfo=auckland)
    before = read(care_manager_alice, paul, at=midnight - dt.timedelta(seconds=1))
    first = read(care_manager_alice, paul, at=midnight)
    last = read(care_manager_alice, paul, at=midnight + dt.timedelta(days=1, seconds=-1))
    after = read(care_manager_alice, paul, at=midnight + dt.timedelta(days=1))
    response = client.post(REPORT, form(date_from=day, date_to=day))
    assert entries(response) == [("read", last.chain_seq), ("read", first.chain_seq)]
    assert {before.chain_seq, after.chain_seq}.isdisjoint(seq for _, seq in entries(response))
    assert "Pacific/Auckland" in response.content.decode()


def test_a_period_of_exactly_366_days_is_accepted(client, ada):
    today = timezone.now().astimezone(ZoneInfo(ada.time_zone)).date()
    response = client.post(REPORT, form(date_from=today - dt.timedelta(days=365), date_to=today))
    assert response.status_code == 200
    assert response.context["form"].is_valid()


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_from"),  # from after to
        ({"date_from": "2025-01-01", "date_to": "2026-01-02"}, "date_to"),  # 367 days
        ({"date_from": "2026-02-30"}, "date_from"),  # no such day
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "1999-12-31", "date_to": "2000-01-01"}, "date_from"),  # before Salus kept logs
        ({"date_from": "0001-01-01", "date_to": "0001-01-01"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),  # the future
        ({"actor_email": "not-an-email"}, "actor_email"),
        ({"mrn": "M" * 65}, "mrn"),
        ({"channel": "telepathy"}, "channel"),
        ({"resource": "everything"}, "resource"),
        ({"kind": "deleted"}, "kind"),
    ],
)
def test_bad_input_is_a_field_error_never_a_500(client, ada, traffic, filters, field):
    for url in (REPORT, EXPORT):
        response = client.post(url, form(**filters))
        assert response.status_code == 400
        assert field in response.context["form"].errors
        assert "rows" not in response.context  # no report for an invalid request
        assert f'id="id_{field}_error"' in response.content.decode()


# --- PHI stays out of URLs --------------------------------------------------------------------


def test_a_filtered_report_never_puts_the_mrn_in_a_url(client, ada, paul, care_manager_alice):
    for _ in range(60):  # more than one page, so that the page buttons are there
        read(care_manager_alice, paul)
    response = client.post(REPORT, form(mrn=paul.mrn, page="2"))
    page = response.content.decode()
    assert response.context["page"].number == 2 and len(response.context["rows"]) == 10
    urls = re.findall(r'(?:href|action|formaction)="([^"]*)"', page)
    assert urls and not [url for url in urls if paul.mrn in url]
    assert 'name="page" value="1"' in page  # the way back is a POST of the same form
    assert client.get(EXPORT).status_code == 405  # the export takes its filters from a POST body only


# --- CSV --------------------------------------------------------------------------------------


def test_csv_export_holds_exactly_the_filtered_rows(client, ada, traffic, petra):
    response = client.post(EXPORT, form(mrn="MRN-PETRA"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="salus-audit-')
    rows = csv_rows(response)
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    signed = traffic["events"][f"signed_{petra.pk}"]
    fay, bob = traffic["reads"]["fay_petra_admin"], traffic["reads"]["bob_petra_admin"]
    assert [(row["kind"], row["chain_seq"]) for row in rows] == [
        ("consent", str(signed.chain_seq)),
        ("read", str(fay.chain_seq)),
        ("read", str(bob.chain_seq)),
    ]
    assert rows[1] == {
        "time_utc": fay.created_at.astimezone(dt.UTC).isoformat(),
        "kind": "read",
        "actor": "fay@salus.test",
        "actor_name": "Fay Test (front desk)",
        "patient_id": str(petra.pk),
        "patient_mrn": "MRN-PETRA",
        "patient_name": "COLOMBO, Petra",
        "channel": "admin",
        "resource_or_purpose": "record",
        "event": "view",
        "ip_address": "192.0.2.1",
        "chain_seq": str(fay.chain_seq),
        "entry_hash": fay.entry_hash,
    }
    assert rows[0]["resource_or_purpose"] == "marketing_email" and rows[0]["event"] == "signed"
    assert rows[0]["entry_hash"] == signed.entry_hash and rows[0]["time_utc"].endswith("+00:00")


def test_csv_export_of_everything_in_the_period_matches_the_page(client, ada, traffic):
    page_entries = entries(client.post(REPORT, form()))
    rows = csv_rows(client.post(EXPORT, form()))
    assert [(row["kind"], int(row["chain_seq"])) for row in rows] == page_entries
    signed_paul = next(row for row in rows if row["event"] == "signed" and row["patient_mrn"] == "MRN-PAUL")
    withdrawn = next(row for row in rows if row["event"] == "withdrawn")
    assert (signed_paul["ip_address"], withdrawn["ip_address"]) == ("198.51.100.7", "")


def test_csv_cells_that_look_like_formulas_are_neutralised(client, ada, paul):
    chain_append(
        AccessLog(actor=None, actor_label="=HYPERLINK(1)", patient=paul, action="view", resource="record", channel="task")
    )
    rows = csv_rows(client.post(EXPORT, form()))
    assert rows[0]["actor"] == "'=HYPERLINK(1)"


def test_people_and_patients_are_named_in_words_on_the_page_and_in_the_csv(client, ada, paul, patient_paul):
    # Given Paul reading his own record through the API and a task building his export
    read(patient_paul, paul, resource="medication-requests", channel="api")
    chain_append(
        AccessLog(actor=None, actor_label="system: data export", patient=paul, action="export", resource="export", channel="task")
    )
    # When an administrator opens the report and its CSV
    page = client.post(REPORT, form()).content.decode()
    rows = csv_rows(client.post(EXPORT, form()))
    # Then Paul is named as a person with his role, never as an account number, and so is the task
    assert "Paul Lefèvre (patient)" in page and "Salus (automatic task: data export)" in page
    assert "LEFÈVRE, Paul" in page and "Medications" in page
    assert "user #" not in page
    by_actor = {row["actor_name"]: row for row in rows}
    assert by_actor["Paul Lefèvre (patient)"]["patient_name"] == "LEFÈVRE, Paul"
    assert "Salus (automatic task: data export)" in by_actor
    summary = client.post(REPORT, form()).context["summary"]
    assert "Paul Lefèvre (patient)" in [row["actor_name"] for row in summary["reads_by_actor"]]


# --- query budget -----------------------------------------------------------------------------


def _grow(paul, petra, users, consent, n):
    now = timezone.now()
    for i in range(n):
        read(
            users[i % len(users)], (paul, petra)[i % 2], channel=("admin", "api", "fhir")[i % 3], at=now - dt.timedelta(minutes=i)
        )
    for i in range(n // 10):
        ledger_event(consent, event=("signed", "withdrawn", "expired")[i % 3], actor=users[0], at=now - dt.timedelta(minutes=i))


@pytest.mark.parametrize("filtered", [False, True])
def test_the_page_query_count_does_not_grow_with_the_rows(
    client, ada, paul, petra, patient_paul, care_manager_alice, care_manager_bob, front_desk_fay, virtual_visit_v1, filtered,
    django_assert_num_queries,
):  # fmt: skip
    users = [care_manager_alice, care_manager_bob, front_desk_fay]
    consent = sign(paul, patient_paul)
    data = form(mrn=paul.mrn, page="1") if filtered else form()
    client.get(REPORT)  # the first view verifies the chains and stores the result
    for n in (5, 120):
        _grow(paul, petra, users, consent, n)
        # 1 session, 1 user, 1 the user's patient record (language middleware), 1 the user's roles,
        # 1 the latest stored chain verification, 1 count of the merged list,
        # 3 summaries (per channel, per actor, per purpose and event), 1 page of the merged list,
        # 3 who acted, in words (their accounts, groups and patient records)
        with django_assert_num_queries(13):
            response = client.post(REPORT, data)
        assert response.status_code == 200
        assert len(response.context["rows"]) == min(50, response.context["page"].paginator.count)
