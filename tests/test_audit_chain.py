"""The access log is hash-chained: editing or deleting a row is detected and the row is named."""

import pytest
from django.core.management import CommandError, call_command

from audit.chain import chain_purge_before, chain_verify
from patients.models import AccessLog
from patients.services import access_log_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_rows(care_manager_alice, paul):
    return [
        access_log_record(actor=care_manager_alice, patient=paul, resource=r, channel="api")
        for r in ("record", "notes", "observations", "record")
    ]


def test_an_untouched_chain_verifies(log_rows, capsys):
    call_command("verify_audit")
    assert "intact" in capsys.readouterr().out
    assert [r.chain_seq for r in log_rows] == [1, 2, 3, 4]
    assert log_rows[1].prev_hash == log_rows[0].entry_hash


def test_editing_one_row_fails_verification_and_names_it(log_rows, capsys):
    AccessLog.objects.filter(pk=log_rows[1].pk).update(resource="appointments")  # tampering, bypassing services
    with pytest.raises(CommandError):
        call_command("verify_audit")
    err = capsys.readouterr().err
    assert f"row id={log_rows[1].pk} (seq 2): content changed" in err
    assert f"id={log_rows[2].pk}" not in err


def test_changing_a_timestamp_is_detected(log_rows):
    import datetime as dt

    AccessLog.objects.filter(pk=log_rows[0].pk).update(created_at=log_rows[0].created_at - dt.timedelta(days=1))
    assert [p.pk for p in chain_verify(AccessLog)] == [log_rows[0].pk]


def test_deleting_a_row_in_the_middle_or_at_the_end_is_detected(log_rows):
    AccessLog.objects.filter(pk=log_rows[2].pk).delete()
    problems = chain_verify(AccessLog)
    assert any(p.seq == 3 and "deleted" in p.reason for p in problems)
    AccessLog.objects.filter(pk=log_rows[3].pk).delete()
    assert any("end" in p.reason for p in chain_verify(AccessLog))


def test_retention_purge_is_not_tampering(log_rows, care_manager_alice, paul):
    assert chain_purge_before(AccessLog, through_seq=2) == 2
    access_log_record(actor=care_manager_alice, patient=paul, resource="record", channel="admin")
    assert chain_verify(AccessLog) == []


def test_chained_rows_cannot_be_saved_twice(log_rows):
    from audit.chain import chain_append

    with pytest.raises(ValueError, match="append-only"):
        chain_append(log_rows[0])
