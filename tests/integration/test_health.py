"""The health endpoint against PostgreSQL, Redis and a running worker."""

import pytest

from notifications.models import WorkerHeartbeat
from notifications.tasks import worker_heartbeat

from .support import wait_until

pytestmark = pytest.mark.integration


def test_health_is_ok_once_a_worker_has_beaten(start_worker, client):
    worker = start_worker()

    # Given a worker that has not yet run the heartbeat: the endpoint says which part fails
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok", "worker": "failing"}

    # When the worker runs the heartbeat task
    worker_heartbeat.delay()
    wait_until(WorkerHeartbeat.objects.exists, what="the worker's heartbeat", details=worker.details)

    # Then every check is ok
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok"}}
    assert worker.tasks_succeeded("notifications.tasks.worker_heartbeat") == 1
