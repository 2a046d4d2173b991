"""A broker outage delays a message, never loses it nor fails the change that caused it."""

import logging

import pytest
import redis.connection
from django.db import transaction

from notifications.models import OutboxChannel, OutboxItem, OutboxStatus
from notifications.services import outbox_message_enqueue
from notifications.tasks import outbox_dispatch

from .support import RECONNECT_SECONDS, celery_publishing_to, free_port, wait_until

pytestmark = pytest.mark.integration

DELIVER = "notifications.tasks.outbox_deliver_batch"


def _enqueue_reminder(to_address: str) -> OutboxItem:
    with transaction.atomic():
        return outbox_message_enqueue(
            channel=OutboxChannel.EMAIL,
            topic="appointment.reminder",
            to_address=to_address,
            subject="Your appointment tomorrow",
            text="See you tomorrow at 09:30.",
        )


# private_redis comes first: fixtures are torn down in reverse, so the worker stops before its Redis.
def test_message_committed_while_redis_is_down_is_delivered_once_when_it_is_back(
    private_redis, start_worker, smtp_server, caplog
):
    with celery_publishing_to(private_redis.url):
        # Given a worker and this process both on a Redis that then goes down
        worker = start_worker(broker_url=private_redis.url)
        private_redis.stop()

        # When a message is committed: the commit succeeds and the failed nudge is only logged
        with caplog.at_level(logging.WARNING, logger="notifications.services"):
            item = _enqueue_reminder("petra@example.org")
        assert f"Broker unavailable, outbox item {item.pk} left for the dispatcher" in caplog.text
        waiting = OutboxItem.objects.get(pk=item.pk)
        assert waiting.status == OutboxStatus.PENDING
        assert waiting.attempts == 0

        # And Redis comes back, empty, on the same port, and the periodic dispatcher runs
        private_redis.start()
        outbox_dispatch.delay()

        # Then the reconnected worker delivers the email, once
        wait_until(
            lambda: worker.tasks_succeeded(DELIVER) == 1,
            what="the worker to reconnect and deliver",
            timeout=RECONNECT_SECONDS,
            details=worker.details,
        )
    wait_until(lambda: smtp_server.sink.messages_to("petra@example.org"), what="the email at the SMTP server")
    [message] = smtp_server.sink.messages_to("petra@example.org")
    assert message["Subject"] == "Your appointment tomorrow"
    delivered = OutboxItem.objects.get(pk=item.pk)
    assert delivered.status == OutboxStatus.DONE
    assert delivered.attempts == 1
    assert outbox_dispatch() == 0


def test_nudge_tries_a_down_broker_once_and_lets_the_commit_return(committed_db, monkeypatch, caplog):
    # Given a broker that does not answer (nothing listens on the port)
    attempts = []
    connect = redis.connection.AbstractConnection.connect

    def counted_connect(self, *args, **kwargs):
        attempts.append(self.port)
        return connect(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", counted_connect)
    with celery_publishing_to(f"redis://127.0.0.1:{free_port()}/0"), caplog.at_level(logging.WARNING):
        # When a message is committed
        item = _enqueue_reminder("paul@example.org")

    # Then the nudge gave up after one connection attempt, and the row waits for the dispatcher
    assert f"outbox item {item.pk} left for the dispatcher" in caplog.text
    assert OutboxItem.objects.get(pk=item.pk).status == OutboxStatus.PENDING
    assert len(attempts) == 1
