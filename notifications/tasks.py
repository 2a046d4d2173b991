"""Thin tasks: ids in, the service does the work. Safe to run twice."""

import math
import socket

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.actors import SystemActor
from core.tasks import publish_now

from . import selectors, services
from .models import OutboxStatus, WorkerHeartbeat


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def outbox_deliver_batch() -> dict[str, int]:
    """Claim a batch of due rows and deliver them. A full batch means more may be waiting: the
    task publishes its successor, so a backlog drains batch after batch without waiting for beat,
    while tasks queued behind it (the heartbeat, an export) run between batches."""
    outcome = services.outbox_deliver_batch(actor=SystemActor("outbox delivery"))
    if sum(n for status, n in outcome.items() if status != OutboxStatus.CLAIMED) >= settings.SALUS_OUTBOX_BATCH_SIZE:
        publish_now(outbox_deliver_batch, what="the next outbox batch")
    return outcome


@shared_task(ignore_result=True)
def outbox_dispatch() -> int:
    """Periodic safety net and fan-out: publish batch tasks for the due rows (rows whose nudge was
    lost to a broker outage, retries after their back-off, claims left by a crashed worker), one
    per batch of due rows, so that up to SALUS_OUTBOX_DISPATCH_MAX_BATCHES batches run side by side
    on however many workers there are, counting those already running (each carries on by itself).
    A batch finding nothing left does nothing. Returns how many rows were due."""
    size = settings.SALUS_OUTBOX_BATCH_SIZE
    most = settings.SALUS_OUTBOX_DISPATCH_MAX_BATCHES
    due = selectors.outbox_due_count(limit=size * most)
    batches = min(math.ceil(due / size), most - selectors.outbox_batches_running())
    for _ in range(max(0, batches)):
        outbox_deliver_batch.apply_async()
    return due


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(name=socket.gethostname(), defaults={"seen_at": timezone.now()})
