"""The transactional outbox: written with the change, claimed once, retried with back-off."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from core import tasks as core_tasks
from core.actors import SystemActor
from notifications import events as event_registry
from notifications import services, tasks
from notifications.models import Notification, OutboxItem, OutboxStatus
from notifications.selectors import outbox_due_ids
from notifications.sms import LocmemSmsBackend

pytestmark = pytest.mark.django_db


def _email(**over):
    kw = {"channel": "email", "topic": "test", "to_address": "a@example.org", "subject": "Hello", "text": "Body"}
    return services.outbox_message_enqueue(**{**kw, **over})


def test_rows_roll_back_with_the_change_that_caused_them():
    with pytest.raises(RuntimeError), transaction.atomic():
        _email()
        raise RuntimeError
    assert not OutboxItem.objects.exists()


def test_the_nudge_runs_only_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    nudged = []
    monkeypatch.setattr(core_tasks, "publish_now", lambda task, item_id, **kw: nudged.append(item_id))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        item = _email()
        assert nudged == []
    assert len(callbacks) == 1 and nudged == [item.pk]


def test_a_failing_broker_leaves_the_row_pending(django_capture_on_commit_callbacks, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.outbox_deliver, "apply_async", broken)
    with django_capture_on_commit_callbacks(execute=True):
        item = _email()
    item.refresh_from_db()
    assert item.status == OutboxStatus.PENDING
    assert outbox_due_ids() == [item.pk]


def test_email_with_html_and_attachment_is_delivered_once(mailoutbox):
    item = _email(html="<p>Body</p>", attachments=[("receipt.pdf", b"%PDF-1.7 data", "application/pdf")])
    assert services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk) == OutboxStatus.DONE
    assert services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk) is None
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.alternatives[0] == ("<p>Body</p>", "text/html")
    assert message.attachments[0] == ("receipt.pdf", b"%PDF-1.7 data", "application/pdf")
    item.refresh_from_db()
    assert (item.status, item.attempts) == ("done", 1)


def test_sms_goes_through_the_configured_backend():
    item = services.outbox_message_enqueue(channel="sms", topic="test", to_address="+33612345678", text="Rendez-vous demain 9h")
    services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk)
    assert [(m.to, m.body) for m in LocmemSmsBackend.outbox] == [("+33612345678", "Rendez-vous demain 9h")]


def test_in_app_notification_is_created_once(care_manager_alice):
    services.staff_notify(user=care_manager_alice, title="Task due", body="x", email=False)
    item = OutboxItem.objects.get()
    services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk)
    # A worker that died after delivering, before marking done: the row is taken over later.
    OutboxItem.objects.filter(pk=item.pk).update(status="claimed", claimed_at=timezone.now() - dt.timedelta(hours=1))
    services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk)
    assert Notification.objects.filter(user=care_manager_alice).count() == 1


def test_same_dedupe_key_gives_one_row():
    a = _email(dedupe_key="reminder:42:24h")
    b = _email(dedupe_key="reminder:42:24h", text="again")
    assert a.pk == b.pk and OutboxItem.objects.count() == 1


def test_failure_backs_off_then_fails_for_good(settings, monkeypatch):
    settings.SALUS_OUTBOX_MAX_ATTEMPTS = 2
    item = _email()

    def boom(message):
        raise OSError("smtp down")

    monkeypatch.setitem(services._CHANNELS, "email", boom)
    assert services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk) == OutboxStatus.PENDING
    item.refresh_from_db()
    assert item.available_at > timezone.now() and "smtp down" in item.last_error
    assert outbox_due_ids() == []  # not due before its back-off
    OutboxItem.objects.filter(pk=item.pk).update(available_at=timezone.now())
    assert services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk) == OutboxStatus.FAILED


def test_a_row_not_yet_due_is_not_claimed():
    item = _email(available_at=timezone.now() + dt.timedelta(hours=2))
    assert services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk) is None
    assert outbox_due_ids() == []


def test_a_live_claim_is_not_taken_over():
    item = _email()
    assert services.outbox_claim(item_id=item.pk)
    assert not services.outbox_claim(item_id=item.pk)


def test_events_reach_registered_handlers(monkeypatch):
    seen = []
    monkeypatch.setattr(event_registry, "_handlers", {"patient.created": [lambda item: seen.append(item.payload)]})
    item = services.outbox_event_emit(topic="patient.created", patient_id=7, payload={"patient_id": 7})
    assert services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk) == OutboxStatus.DONE
    assert seen == [{"patient_id": 7}]


def test_dispatcher_hands_out_due_rows(monkeypatch):
    published = []
    monkeypatch.setattr(tasks.outbox_deliver, "apply_async", lambda args, **kw: published.append(args[0]))
    due = _email()
    _email(available_at=timezone.now() + dt.timedelta(days=1))
    assert tasks.outbox_dispatch() == 1
    assert published == [due.pk]


def test_cancel_for_patient_stops_pending_messages():
    item = _email(patient_id=12)
    assert services.outbox_cancel_for_patient(patient_id=12) == 1
    item.refresh_from_db()
    assert item.status == OutboxStatus.CANCELLED
    assert services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk) is None


@pytest.mark.parametrize(
    ("kw", "message"), [({"channel": "email", "to_address": ""}, "address"), ({"channel": "in_app"}, "recipient")]
)
def test_messages_without_a_destination_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        services.outbox_message_enqueue(topic="t", text="x", **kw)
