"""Thin tasks: ids in, the service does the work. Safe to run twice."""

import socket

from celery import shared_task
from django.utils import timezone

from core.actors import SystemActor

from . import selectors, services
from .models import WorkerHeartbeat


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def outbox_deliver(item_id: int) -> None:
    services.outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item_id)


@shared_task(ignore_result=True)
def outbox_dispatch() -> int:
    """Periodic: hand every due outbox row to a worker. A row handed out twice is claimed once."""
    ids = selectors.outbox_due_ids()
    for item_id in ids:
        outbox_deliver.apply_async(args=[item_id])
    return len(ids)


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(name=socket.gethostname(), defaults={"seen_at": timezone.now()})
