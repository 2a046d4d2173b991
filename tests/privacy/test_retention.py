"""Retention: a dry run counts and changes nothing; the real run purges exactly what it counted."""

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from audit.chain import chain_append, verify_all
from consent.models import Consent, Purpose
from consent.services import consent_sign, consent_withdraw
from core.actors import SystemActor
from core.files import private_file_path
from notifications.models import Notification, OutboxItem
from notifications.services import outbox_event_emit, outbox_message_enqueue
from patients.models import AccessLog
from patients.services import access_log_record
from privacy import tasks
from privacy.models import PrivacyRequest, RetentionCategory, RetentionRule
from privacy.services import privacy_export_request
from privacy.services.retention import retention_apply, retention_rule_update

pytestmark = pytest.mark.django_db

KEEP = 30
NOW = timezone.now()
OLD = NOW - dt.timedelta(days=KEEP + 10)
RECENT = NOW - dt.timedelta(days=KEEP - 10)

EXPECTED = {
    "access_log": 3,
    "notifications_read": 2,
    "outbox_done_events": 2,
    "outbox_done_messages": 3,
    "privacy_exports": 1,
    "withdrawn_consent_receipts": 1,
}


@pytest.fixture
def rules(db):
    """Every category kept KEEP days (the migration seeds them; a flushed database has none)."""
    for category in RetentionCategory.values:
        RetentionRule.objects.update_or_create(category=category, defaults={"keep_days": KEEP, "active": True})
    return {r.category: r for r in RetentionRule.objects.all()}


def _message(status: str, created_at, **kw) -> OutboxItem:
    item = outbox_message_enqueue(channel="email", topic="test.message", to_address="paul@example.org", text="Hello", **kw)
    OutboxItem.objects.filter(pk=item.pk).update(status=status, created_at=created_at)
    return item


def _event(status: str, created_at) -> OutboxItem:
    item = outbox_event_emit(topic="test.event", payload={"n": 1})
    OutboxItem.objects.filter(pk=item.pk).update(status=status, created_at=created_at)
    return item


@pytest.fixture
def aged(rules, paul, patient_paul, care_manager_alice, virtual_visit_v1, marketing_email_v1):
    """Given rows on both sides of every rule's cutoff."""
    # The access log: three old reads, then two recent ones (written when they happened)
    for _ in range(3):
        chain_append(
            AccessLog(
                created_at=OLD,
                actor=care_manager_alice,
                actor_label=care_manager_alice.email,
                patient=paul,
                action="view",
                resource="record",
                channel="admin",
            )
        )
    for _ in range(2):
        access_log_record(actor=care_manager_alice, patient=paul, resource="record", channel="admin")
    # Outbox rows: finished and old (purged), or pending, or recent (kept). The fixtures' own events are recent.
    kept_messages = [_message("pending", OLD), _message("done", RECENT)]  # not finished / not old enough
    old_messages = [_message("done", OLD), _message("cancelled", OLD), _message("failed", OLD)]
    old_events = [_event("done", OLD), _event("done", OLD)]
    kept_events = [_event("done", RECENT), _event("pending", OLD)]
    # Notifications: two read long ago, one unread, one read recently
    notes = [Notification.objects.create(user=care_manager_alice, title=f"n{i}") for i in range(4)]
    Notification.objects.filter(pk__in=[notes[0].pk, notes[1].pk]).update(read_at=OLD)
    Notification.objects.filter(pk=notes[3].pk).update(read_at=RECENT)
    # Exports: one whose link expired long ago, one recently
    exports = []
    for expired_at in (OLD, RECENT):
        request = privacy_export_request(actor=patient_paul, patient=paul, channel="portal")
        assert tasks.privacy_export_build(request.pk)
        PrivacyRequest.objects.filter(pk=request.pk).update(expires_at=expired_at)
        exports.append(PrivacyRequest.objects.get(pk=request.pk))
    # Consents: a paper one withdrawn long ago, one withdrawn recently, one still active
    old = consent_sign(
        actor=care_manager_alice,
        patient=paul,
        purpose=Purpose.MARKETING_EMAIL,
        method="paper",
        signer_name="Paul Lefèvre",
        scanned_document=b"%PDF-1.4 signed form",
    )
    consent_withdraw(actor=patient_paul, consent=old)
    Consent.objects.filter(pk=old.pk).update(withdrawn_at=OLD)
    recent = consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.MARKETING_EMAIL, method="portal", signer_name="Paul Lefèvre"
    )
    consent_withdraw(actor=patient_paul, consent=recent)
    Consent.objects.filter(pk=recent.pk).update(withdrawn_at=RECENT)
    active = consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method="portal", signer_name="Paul Lefèvre"
    )
    return {
        "kept_outbox": [i.pk for i in kept_messages + kept_events],
        "old_outbox": [i.pk for i in old_messages + old_events],
        "notes": notes,
        "exports": exports,
        "consents": {"old": Consent.objects.get(pk=old.pk), "recent": recent, "active": active},
    }


def _snapshot():
    return {
        "access_log": sorted(AccessLog.objects.values_list("pk", "entry_hash")),
        "outbox": sorted(OutboxItem.objects.values_list("pk", "status")),
        "notifications": sorted(Notification.objects.values_list("pk", flat=True)),
        "exports": sorted(PrivacyRequest.objects.values_list("pk", "json_path", "pdf_path")),
        "consents": sorted(Consent.objects.values_list("pk", "receipt_path", "scanned_document")),
        # The files of this test's rows (the private folder is shared with other test runs)
        "files": sorted(
            (path, private_file_path(path).exists())
            for row in [
                *PrivacyRequest.objects.values_list("json_path", "pdf_path"),
                *Consent.objects.values_list("receipt_path", "scanned_document"),
            ]
            for path in row
            if path
        ),
    }


def test_dry_run_counts_and_changes_nothing(aged):
    before = _snapshot()
    assert retention_apply(actor=SystemActor("retention"), dry_run=True, now=NOW) == EXPECTED
    assert _snapshot() == before


def test_real_run_purges_exactly_what_the_dry_run_counted(aged):
    counted = retention_apply(actor=SystemActor("retention"), dry_run=True, now=NOW)
    old_files = [private_file_path(p) for p in (aged["exports"][0].json_path, aged["exports"][0].pdf_path)]
    old_consent = aged["consents"]["old"]
    old_files += [private_file_path(old_consent.receipt_path), private_file_path(old_consent.scanned_document)]
    assert all(f.exists() for f in old_files)

    log_rows = AccessLog.objects.count()

    assert retention_apply(actor=SystemActor("retention"), dry_run=False, now=NOW) == counted == EXPECTED

    # The access log lost its three oldest rows and still verifies
    assert AccessLog.objects.count() == log_rows - 3
    assert not AccessLog.objects.filter(created_at__lt=NOW - dt.timedelta(days=KEEP)).exists()
    assert verify_all() == []
    # The finished old outbox rows are gone; the pending and recent ones stay
    assert not OutboxItem.objects.filter(pk__in=aged["old_outbox"]).exists()
    assert OutboxItem.objects.filter(pk__in=aged["kept_outbox"]).count() == len(aged["kept_outbox"])
    # Read notifications older than the term are gone; unread and recent ones stay
    assert sorted(Notification.objects.values_list("pk", flat=True)) == [n.pk for n in aged["notes"][2:]]
    # The old export's files are deleted, the request row kept; the recent one untouched
    expired, recent = (PrivacyRequest.objects.get(pk=e.pk) for e in aged["exports"])
    assert (expired.json_path, expired.pdf_path, expired.status) == ("", "", "done")
    assert recent.json_path and private_file_path(recent.json_path).exists()
    # The old withdrawn consent lost its receipt and scan, not their hash; the others keep theirs
    old = Consent.objects.get(pk=old_consent.pk)
    assert (old.receipt_path, old.scanned_document, old.receipt_sha256) == ("", "", old_consent.receipt_sha256)
    assert old.history.first().history_change_reason == "Retention"
    assert Consent.objects.get(pk=aged["consents"]["recent"].pk).receipt_path
    assert Consent.objects.get(pk=aged["consents"]["active"].pk).receipt_path
    assert not any(f.exists() for f in old_files)
    # And a second run finds nothing left
    assert sum(retention_apply(actor=SystemActor("retention"), dry_run=True, now=NOW).values()) == 0


def test_inactive_rules_purge_nothing(aged, rules):
    RetentionRule.objects.filter(category="access_log").update(active=False)
    log_rows = AccessLog.objects.count()
    counts = retention_apply(actor=SystemActor("retention"), dry_run=False, now=NOW)
    assert "access_log" not in counts
    assert AccessLog.objects.count() == log_rows


def test_command_prints_the_dry_run_table_then_purges_with_a_summary(aged):
    before = _snapshot()
    out = io.StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    table = out.getvalue()
    assert "would purge" in table and "Dry run: nothing was changed." in table
    assert "Access log entries" in table and "Staff notifications already read" in table
    lines = {line.split("  ")[0].strip(): line.split()[-1] for line in table.splitlines() if "  " in line}
    assert lines["Access log entries"] == "3" and lines["total"] == str(sum(EXPECTED.values()))
    assert _snapshot() == before

    log_rows = AccessLog.objects.count()
    out, err = io.StringIO(), io.StringIO()
    call_command("apply_retention", stdout=out, stderr=err)
    assert f"{sum(EXPECTED.values())} row(s) or file(s) purged" in out.getvalue()
    assert AccessLog.objects.count() == log_rows - 3


def test_the_daily_task_applies_the_rules(aged):
    assert tasks.retention_apply() == EXPECTED
    assert OutboxItem.objects.filter(topic="retention.applied").exists()


# --- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("keep_days", [0, -5, "seven", None])
def test_a_rule_keeps_at_least_a_day(rules, admin_ada, keep_days):
    rule = rules["access_log"]
    with pytest.raises(ValidationError) as err:
        retention_rule_update(actor=admin_ada, rule=rule, keep_days=keep_days, active=True)
    assert "keep_days" in err.value.message_dict
    assert RetentionRule.objects.get(pk=rule.pk).keep_days == KEEP


@pytest.mark.parametrize("who", ["care_manager_alice", "front_desk_fay", "patient_paul"])
def test_only_administrators_change_rules(request, rules, who):
    with pytest.raises(PermissionDenied):
        retention_rule_update(actor=request.getfixturevalue(who), rule=rules["access_log"], keep_days=1, active=True)


def test_admin_edits_a_rule_through_the_service(client, rules, admin_ada, front_desk_fay):
    rule = rules["notifications_read"]
    url = f"/admin/privacy/retentionrule/{rule.pk}/change/"
    client.force_login(admin_ada)
    response = client.post(url, {"keep_days": "0", "active": "on"})
    assert response.status_code == 200
    assert "keep_days" in response.context["adminform"].form.errors
    response = client.post(url, {"keep_days": "99999", "active": "on"})
    assert "keep_days" in response.context["adminform"].form.errors
    assert RetentionRule.objects.get(pk=rule.pk).keep_days == KEEP
    assert client.post(url, {"keep_days": "45"}).status_code == 302  # "active" unticked
    rule.refresh_from_db()
    assert (rule.keep_days, rule.active, rule.updated_by) == (45, False, admin_ada)
    assert rule.history.first().history_user == admin_ada
    client.force_login(front_desk_fay)
    assert client.get("/admin/privacy/retentionrule/").status_code == 403
    assert client.post(url, {"keep_days": "1", "active": "on"}).status_code == 403


def test_admin_preview_shows_counts_and_changes_nothing(client, aged, admin_ada):
    before = _snapshot()
    client.force_login(admin_ada)
    response = client.post(
        "/admin/privacy/retentionrule/",
        {"action": "preview", "_selected_action": [RetentionRule.objects.first().pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Access log entries: 3" in page
    assert _snapshot() == before
