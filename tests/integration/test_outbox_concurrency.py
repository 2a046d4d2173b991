"""Duplicate sends under real concurrency: threads with their own PostgreSQL connections."""

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core import mail
from django.db import connections, transaction

from core.actors import SystemActor
from notifications.models import OutboxChannel, OutboxItem, OutboxStatus
from notifications.services import outbox_claim_batch, outbox_deliver, outbox_deliver_batch, outbox_message_enqueue

pytestmark = pytest.mark.integration

THREADS = 4
ROUNDS = 5


def _all_at_once(call: Callable[[], object], *, threads: int = THREADS) -> list:
    """Run `call` in `threads` threads released together by a barrier; return what each returned."""
    barrier = threading.Barrier(threads)
    results: list = [None] * threads
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


def _reminder(to_address: str, *, dedupe_key: str | None = None) -> OutboxItem:
    return outbox_message_enqueue(
        channel=OutboxChannel.EMAIL,
        topic="appointment.reminder",
        to_address=to_address,
        subject="Your appointment tomorrow",
        text="See you tomorrow at 09:30.",
        dedupe_key=dedupe_key,
    )


def test_workers_delivering_the_same_row_at_once_send_it_once(committed_db):
    for n in range(ROUNDS):
        # Given a committed email
        address = f"patient{n}@example.org"
        item = _reminder(address)

        # When four workers deliver it at the same moment
        results = _all_at_once(lambda item_id=item.pk: outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item_id))

        # Then one of them delivered it and the others found it taken
        assert Counter(results) == {OutboxStatus.DONE: 1, None: THREADS - 1}
        assert [m.to for m in mail.outbox].count([address]) == 1
        delivered = OutboxItem.objects.get(pk=item.pk)
        assert (delivered.status, delivered.attempts) == (OutboxStatus.DONE, 1)
    assert len(mail.outbox) == ROUNDS


def test_same_send_enqueued_by_concurrent_transactions_is_written_once(committed_db):
    for n in range(ROUNDS):
        key = f"reminder:appt-{n}:24h"

        # When four transactions enqueue the same logical send at the same moment
        def enqueue(key=key):
            with transaction.atomic():
                return _reminder("paul@example.org", dedupe_key=key).pk

        ids = _all_at_once(enqueue)

        # Then there is one row, and every caller got it
        [row_id] = OutboxItem.objects.filter(dedupe_key=key).values_list("pk", flat=True)
        assert ids == [row_id] * THREADS
    assert OutboxItem.objects.count() == ROUNDS


def test_workers_claiming_batches_at_once_take_disjoint_rows(committed_db):
    # Given 200 committed emails
    items = [_reminder(f"batch{n}@example.org") for n in range(200)]

    # When four workers each claim a batch of 60 at the same moment
    batches = _all_at_once(lambda: outbox_claim_batch(limit=60))

    # Then no row is in two batches, no batch is over its limit, and the 200 rows are all claimed
    claimed = [pk for batch in batches for pk in batch]
    assert len(claimed) == len(set(claimed)) == 200
    assert max(len(batch) for batch in batches) == 60
    assert set(claimed) == {i.pk for i in items}
    assert set(OutboxItem.objects.values_list("attempts", flat=True)) == {1}


def test_workers_delivering_batches_at_once_send_each_row_once(committed_db):
    for n in range(50):
        _reminder(f"many{n}@example.org")

    results = _all_at_once(lambda: outbox_deliver_batch(actor=SystemActor("outbox delivery"), limit=20))

    assert sum(r.get(OutboxStatus.DONE, 0) for r in results) == 50
    sent = [m.to[0] for m in mail.outbox]
    assert len(sent) == len(set(sent)) == 50
