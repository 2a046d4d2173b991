"""The transactional outbox: written with the change, claimed once, retried with back-off."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
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
    monkeypatch.setattr(core_tasks, "publish_now", lambda task, *args, **kw: nudged.append(task.name))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _email()
        assert nudged == []
    assert len(callbacks) == 1 and nudged == ["notifications.tasks.outbox_deliver_batch"]


def test_a_transaction_writing_many_rows_publishes_one_batch_task(django_capture_on_commit_callbacks, monkeypatch):
    # Given a transaction that queues a thousand messages
    nudged = []
    monkeypatch.setattr(core_tasks, "publish_now", lambda task, *args, **kw: nudged.append(task.name))
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for n in range(1000):
            _email(to_address=f"p{n}@example.org")
    # Then its commit publishes one batch task, not one task per row
    assert len(callbacks) == 1 and nudged == ["notifications.tasks.outbox_deliver_batch"]


def test_a_rolled_back_savepoint_does_not_take_the_nudge_with_it(django_capture_on_commit_callbacks, monkeypatch):
    nudged = []
    monkeypatch.setattr(core_tasks, "publish_now", lambda task, *args, **kw: nudged.append(task.name))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            _email()
            raise RuntimeError
        kept = _email(to_address="kept@example.org")
    assert nudged == ["notifications.tasks.outbox_deliver_batch"]
    assert list(OutboxItem.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.django_db(transaction=True)
def test_each_transaction_publishes_its_own_nudge(monkeypatch):
    nudged = []
    monkeypatch.setattr(core_tasks, "publish_now", lambda task, *args, **kw: nudged.append(task.name))
    with transaction.atomic():
        _email()
        _email()
    with transaction.atomic():
        _email()
    assert len(nudged) == 2


def test_rows_written_with_nudges_held_wait_for_the_dispatcher(django_capture_on_commit_callbacks, monkeypatch):
    nudged = []
    monkeypatch.setattr(core_tasks, "publish_now", lambda task, *args, **kw: nudged.append(task.name))
    with django_capture_on_commit_callbacks(execute=True), services.outbox_nudges_held():
        item = _email()
    assert nudged == []
    assert outbox_due_ids() == [item.pk]
    with django_capture_on_commit_callbacks(execute=True):
        _email()
    assert nudged == ["notifications.tasks.outbox_deliver_batch"]


def test_a_failing_broker_leaves_the_row_pending(django_capture_on_commit_callbacks, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.outbox_deliver_batch, "apply_async", broken)
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

    def boom(message, connection=None):
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


def test_dispatcher_publishes_one_batch_task_per_batch_of_due_rows(settings, monkeypatch):
    settings.SALUS_OUTBOX_BATCH_SIZE = 10
    published = []
    monkeypatch.setattr(tasks.outbox_deliver_batch, "apply_async", lambda *a, **kw: published.append(a))
    for n in range(25):
        _email(to_address=f"p{n}@example.org")
    _email(available_at=timezone.now() + dt.timedelta(days=1))
    assert tasks.outbox_dispatch() == 25
    assert len(published) == 3


def test_dispatcher_stops_at_its_maximum_of_batches(settings, monkeypatch):
    settings.SALUS_OUTBOX_BATCH_SIZE = 2
    settings.SALUS_OUTBOX_DISPATCH_MAX_BATCHES = 3
    published = []
    monkeypatch.setattr(tasks.outbox_deliver_batch, "apply_async", lambda *a, **kw: published.append(a))
    for n in range(20):
        _email(to_address=f"p{n}@example.org")
    assert tasks.outbox_dispatch() == 6
    assert len(published) == 3


def test_dispatcher_counts_the_batches_already_running(settings, monkeypatch):
    # Given two batches being delivered (each claimed in one UPDATE) and 30 rows due
    settings.SALUS_OUTBOX_BATCH_SIZE = 5
    settings.SALUS_OUTBOX_DISPATCH_MAX_BATCHES = 4
    published = []
    monkeypatch.setattr(tasks.outbox_deliver_batch, "apply_async", lambda *a, **kw: published.append(a))
    for n in range(40):
        _email(to_address=f"p{n}@example.org")
    assert len(services.outbox_claim_batch(limit=5)) == 5
    assert len(services.outbox_claim_batch(limit=5)) == 5
    # When the dispatcher runs, it tops up to its maximum of batches side by side
    assert tasks.outbox_dispatch() == 20  # counted up to 4 batches of 5
    assert len(published) == 2
    # And a claim left by a crashed worker is no batch running: it is due again
    OutboxItem.objects.filter(status="claimed").update(claimed_at=timezone.now() - dt.timedelta(hours=1))
    published.clear()
    tasks.outbox_dispatch()
    assert len(published) == 4


def test_a_batch_claims_due_rows_in_one_statement_and_delivers_them(mailoutbox, django_assert_num_queries):
    # Given 30 due emails, one not yet due and one already delivered
    due = [_email(to_address=f"p{n}@example.org") for n in range(30)]
    later = _email(to_address="later@example.org", available_at=timezone.now() + dt.timedelta(hours=1))
    done = _email(to_address="done@example.org")
    services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=done.pk)
    mailoutbox.clear()
    # When a batch of 20 runs: one UPDATE claims them all (3 queries: savepoint, the UPDATE, release)
    with django_assert_num_queries(3):
        claimed = services.outbox_claim_batch(limit=20)
    assert claimed == sorted(i.pk for i in due[:20])
    # Then the next batch takes the other ten, and delivering sends each once
    outcome = services.outbox_deliver_batch(actor=SystemActor("outbox delivery"), limit=20)
    assert outcome == {OutboxStatus.DONE: 10}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(f"p{n}@example.org" for n in range(20, 30))
    OutboxItem.objects.filter(pk__in=claimed).update(claimed_at=timezone.now())
    assert services.outbox_deliver_batch(actor=SystemActor("outbox delivery")) == {}
    assert OutboxItem.objects.get(pk=later.pk).status == OutboxStatus.PENDING
    assert OutboxItem.objects.get(pk=done.pk).attempts == 1


def test_a_batch_takes_over_claims_left_by_a_crashed_worker_only(mailoutbox):
    crashed = _email(to_address="crashed@example.org")
    live = _email(to_address="live@example.org")
    OutboxItem.objects.filter(pk=crashed.pk).update(
        status="claimed", attempts=1, claimed_at=timezone.now() - dt.timedelta(hours=1)
    )
    OutboxItem.objects.filter(pk=live.pk).update(status="claimed", attempts=1, claimed_at=timezone.now())
    assert services.outbox_deliver_batch(actor=SystemActor("outbox delivery")) == {OutboxStatus.DONE: 1}
    assert [m.to for m in mailoutbox] == [["crashed@example.org"]]
    assert OutboxItem.objects.get(pk=crashed.pk).attempts == 2
    assert OutboxItem.objects.get(pk=live.pk).status == OutboxStatus.CLAIMED


def test_a_batch_sends_its_emails_over_one_connection(monkeypatch, mailoutbox):
    from django.core.mail.backends.locmem import EmailBackend

    opened = []
    original_open = EmailBackend.open
    monkeypatch.setattr(EmailBackend, "open", lambda self: opened.append(self) or original_open(self))
    for n in range(5):
        _email(to_address=f"p{n}@example.org")
    services.outbox_deliver_batch(actor=SystemActor("outbox delivery"))
    assert len(mailoutbox) == 5
    assert len(opened) == 1


def test_one_failing_row_does_not_stop_its_batch(monkeypatch, mailoutbox):
    bad = _email(to_address="bad@example.org")
    _email(to_address="good@example.org")
    deliver_email = services._CHANNELS["email"]

    def flaky(item, connection=None):
        if item.to_address == "bad@example.org":
            raise OSError("mailbox unavailable")
        deliver_email(item, connection)

    monkeypatch.setitem(services._CHANNELS, "email", flaky)
    outcome = services.outbox_deliver_batch(actor=SystemActor("outbox delivery"))
    assert outcome == {OutboxStatus.PENDING: 1, OutboxStatus.DONE: 1}
    assert [m.to for m in mailoutbox] == [["good@example.org"]]
    bad.refresh_from_db()
    assert bad.status == OutboxStatus.PENDING and "mailbox unavailable" in bad.last_error


def test_a_batch_out_of_time_hands_its_remaining_rows_back(settings, monkeypatch, mailoutbox):
    # Given a claim window that a slow mail server uses up after the first email
    settings.SALUS_OUTBOX_CLAIM_SECONDS = 60
    first, second, third = (_email(to_address=f"p{n}@example.org") for n in range(3))
    deliver_email = services._CHANNELS["email"]

    def slow(item, connection=None):
        deliver_email(item, connection)
        later = timezone.now() + dt.timedelta(seconds=45)
        monkeypatch.setattr(services.timezone, "now", lambda: later)

    monkeypatch.setitem(services._CHANNELS, "email", slow)
    outcome = services.outbox_deliver_batch(actor=SystemActor("outbox delivery"))
    # Then the two rows not yet sent go back to pending, unsent and with their attempt undone
    assert outcome == {OutboxStatus.DONE: 1, OutboxStatus.CLAIMED: 2}
    assert len(mailoutbox) == 1
    assert [(i.status, i.attempts) for i in OutboxItem.objects.filter(pk__in=[second.pk, third.pk])] == [("pending", 0)] * 2
    assert OutboxItem.objects.get(pk=first.pk).status == OutboxStatus.DONE


def test_a_full_batch_publishes_the_next_one(settings, monkeypatch, mailoutbox):
    settings.SALUS_OUTBOX_BATCH_SIZE = 3
    published = []
    monkeypatch.setattr(tasks, "publish_now", lambda task, *a, **kw: published.append(task.name))
    for n in range(4):
        _email(to_address=f"p{n}@example.org")
    assert tasks.outbox_deliver_batch() == {OutboxStatus.DONE: 3}
    assert published == ["notifications.tasks.outbox_deliver_batch"]
    assert tasks.outbox_deliver_batch() == {OutboxStatus.DONE: 1}
    assert len(published) == 1 and len(mailoutbox) == 4


def test_only_background_work_delivers_batches(care_manager_alice):
    _email()
    with pytest.raises(PermissionDenied):
        services.outbox_deliver_batch(actor=care_manager_alice)
    with pytest.raises(TypeError):
        services.outbox_deliver_batch(actor=None)
    assert OutboxItem.objects.get().status == OutboxStatus.PENDING


def test_history_settle_leaves_only_what_is_still_to_come(care_manager_alice, mailoutbox):
    # Given rows written by a replay of past activity, and one message planned for tomorrow
    past_email = _email()
    past_sms = services.outbox_message_enqueue(channel="sms", topic="test", to_address="+33612345678", text="x")
    services.staff_notify(user=care_manager_alice, title="Note to review", email=False)
    event = services.outbox_event_emit(topic="patient.created", patient_id=7, payload={"patient_id": 7})
    tomorrow = _email(to_address="later@example.org", available_at=timezone.now() + dt.timedelta(days=1))
    # When the history is settled
    outcome = services.outbox_history_settle(actor=SystemActor("demo seed"), created_before=timezone.now())
    # Then nothing is left due, the in-app notification exists, and no email or SMS was sent now
    assert outcome == {"delivered": 2, "recorded_as_sent": 2}
    assert outbox_due_ids() == []
    assert Notification.objects.filter(user=care_manager_alice, title="Note to review").exists()
    assert mailoutbox == [] and LocmemSmsBackend.outbox == []
    for row in (past_email, past_sms, event):
        row.refresh_from_db()
        assert row.status == OutboxStatus.DONE
    past_email.refresh_from_db()
    assert past_email.done_at == past_email.created_at
    assert OutboxItem.objects.get(pk=tomorrow.pk).status == OutboxStatus.PENDING
    with pytest.raises(PermissionDenied):
        services.outbox_history_settle(actor=care_manager_alice, created_before=timezone.now())


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
