"""Thin periodic tasks of the scheduling app: ids and clocks in, services do the work."""

from celery import shared_task

from core.actors import SystemActor

from . import services


@shared_task(name="scheduling.tasks.reminders_send_due", acks_late=True, reject_on_worker_lost=True)
def reminders_send_due() -> int:
    """Send every reminder now due (each once; see `services.reminders_send_due`)."""
    return services.reminders_send_due(actor=SystemActor("appointment reminders"))
