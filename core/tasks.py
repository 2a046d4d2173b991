"""Publishing Celery work once the caller's transaction has committed."""

import logging

from celery import Task
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def publish_now(task: Task, *args: object, what: str = "") -> bool:
    """Publish a task with one connection attempt and no retry: a down broker must not hold the
    request that just committed. The row the task works on is the durable record, and a periodic
    dispatcher publishes it later. Returns whether the broker took it."""
    try:
        with task.app.connection_for_write(transport_options={"max_retries": 0}) as conn:
            task.apply_async(args=list(args), retry=False, connection=conn)
    except Exception as exc:  # noqa: BLE001 - any broker failure only delays the work
        logger.warning("Broker unavailable, %s left for the dispatcher: %s", what or task.name, type(exc).__name__)
        return False
    return True


def publish_on_commit(task_path: str, *args: object, what: str = "") -> None:
    """`publish_now` once the current transaction commits (at once outside one). The task is named
    by its dotted path and imported only then, so that a tasks module may import its services."""
    transaction.on_commit(lambda: publish_now(import_string(task_path), *args, what=what))
