"""The Celery application: same code on the file-system broker and on Redis."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("salus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _heartbeat_when_ready(sender, **kwargs) -> None:
    """Beat first sends the heartbeat one interval after it starts: a worker that just came up
    reports itself at once, through the queue it serves, so that /health/ turns ok in seconds."""
    sender.app.send_task("notifications.tasks.worker_heartbeat")
