"""The outbox delivered by a real Celery worker process, through Redis, into PostgreSQL and SMTP."""

import pytest
from django.conf import settings
from django.db import transaction

from notifications.models import Notification, OutboxChannel, OutboxItem, OutboxStatus
from notifications.services import outbox_message_enqueue
from notifications.tasks import outbox_deliver_batch, outbox_dispatch

from .support import broker_queue_length, wait_until

pytestmark = pytest.mark.integration

DELIVER = "notifications.tasks.outbox_deliver_batch"


def _status(item: OutboxItem) -> OutboxItem:
    return OutboxItem.objects.get(pk=item.pk)


def test_worker_takes_the_committed_message_off_redis_and_writes_the_notification(care_manager_alice, start_worker):
    # start_worker, which empties the queue, comes after the user fixture: only this test's message is on it.
    # Given an in-app notification committed to the outbox: the commit publishes it to Redis
    with transaction.atomic():
        item = outbox_message_enqueue(
            channel=OutboxChannel.IN_APP,
            topic="staff.notification",
            recipient_user=care_manager_alice,
            subject="New note to review",
            text="A new clinical note was written.",
            link="/admin/patients/clinicalnote/1/change/",
        )
    # Nothing in this process delivers it: it waits on the broker.
    assert broker_queue_length(settings.REDIS_URL) == 1
    assert _status(item).status == OutboxStatus.PENDING

    # When a worker process starts
    worker = start_worker()

    # Then it delivers the row, and the notification is in PostgreSQL
    wait_until(lambda: _status(item).status == OutboxStatus.DONE, what="the worker to deliver the row", details=worker.details)
    notification = Notification.objects.get(source=item)
    assert notification.user == care_manager_alice
    assert notification.title == "New note to review"
    assert notification.link == "/admin/patients/clinicalnote/1/change/"
    delivered = _status(item)
    assert delivered.attempts == 1
    assert delivered.done_at is not None
    assert broker_queue_length(settings.REDIS_URL) == 0


def test_row_published_many_times_is_emailed_once_over_smtp(start_worker, smtp_server):
    # Given an email committed to the outbox (the commit publishes it once) ...
    with transaction.atomic():
        item = outbox_message_enqueue(
            channel=OutboxChannel.EMAIL,
            topic="appointment.reminder",
            to_address="paul@example.org",
            subject="Your appointment tomorrow",
            text="See you tomorrow at 09:30.",
        )
    # ... three more batch tasks published, and one more by the periodic dispatcher, before any worker runs
    for _ in range(3):
        outbox_deliver_batch.apply_async()
    assert outbox_dispatch() == 1
    assert broker_queue_length(settings.REDIS_URL) == 5

    # When a worker with two processes takes the five messages
    worker = start_worker(pool="prefork", concurrency=2)
    wait_until(lambda: worker.tasks_succeeded(DELIVER) == 5, what="the five deliveries to finish", details=worker.details)

    # Then the SMTP server received the email exactly once
    wait_until(lambda: smtp_server.sink.messages_to("paul@example.org"), what="the email at the SMTP server")
    [message] = smtp_server.sink.messages_to("paul@example.org")
    assert message["Subject"] == "Your appointment tomorrow"
    assert message.get_payload(decode=True).decode().strip() == "See you tomorrow at 09:30."
    # And the row was claimed once and is done
    delivered = _status(item)
    assert delivered.status == OutboxStatus.DONE
    assert delivered.attempts == 1
    # And the dispatcher has nothing left to hand out
    assert outbox_dispatch() == 0


def test_a_thousand_rows_committed_together_drain_in_batches(start_worker, smtp_server, settings):
    # Given a thousand emails committed in one transaction: one batch task is on the broker
    with transaction.atomic():
        items = [
            outbox_message_enqueue(
                channel=OutboxChannel.EMAIL,
                topic="campaign.newsletter",
                to_address=f"patient{n}@example.org",
                subject="Our spring health fair",
                text="Join us on Saturday.",
            )
            for n in range(1000)
        ]
    assert broker_queue_length(settings.REDIS_URL) == 1

    # When a worker runs
    worker = start_worker()

    # Then every row is delivered, once, by a handful of batch tasks rather than one task per row
    pending = OutboxItem.objects.filter(pk__in=[i.pk for i in items]).exclude(status=OutboxStatus.DONE)
    wait_until(lambda: not pending.exists(), what="the thousand rows to be delivered", timeout=120, details=worker.details)
    assert OutboxItem.objects.filter(pk__in=[i.pk for i in items], attempts=1).count() == 1000
    wait_until(lambda: len(smtp_server.sink.messages_to("patient999@example.org")) == 1, what="the last email")
    assert worker.tasks_succeeded(DELIVER) <= 1000 // settings.SALUS_OUTBOX_BATCH_SIZE + 1
