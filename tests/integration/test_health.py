"""The health endpoint against PostgreSQL, Redis and a running worker."""

import pytest

from notifications.models import WorkerHeartbeat
from notifications.tasks import worker_heartbeat

from .support import wait_until

pytestmark = pytest.mark.integration


def test_health_is_ok_once_a_worker_has_beaten(start_worker, client):
    # Given no worker yet: the endpoint says which part fails
    WorkerHeartbeat.objects.all().delete()
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok", "worker": "failing"}

    # When a worker starts: it reports itself once ready, without waiting for beat
    worker = start_worker()
    wait_until(WorkerHeartbeat.objects.exists, what="the worker's heartbeat", details=worker.details)

    # Then every check is ok
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok"}}
    assert worker.tasks_succeeded("notifications.tasks.worker_heartbeat") == 1

    # And a heartbeat from beat keeps it so
    worker_heartbeat.delay()
    wait_until(lambda: worker.tasks_succeeded("notifications.tasks.worker_heartbeat") == 2, what="a second heartbeat")
