"""Fixtures of the integration tier: a Celery worker process, an SMTP server, a private Redis.

Every process a fixture starts is stopped when the test ends, whatever its outcome.
"""

import pytest
from django.conf import settings
from django.db import connection

from .support import CeleryWorker, RedisServer, SmtpServer


@pytest.fixture(autouse=True)
def _postgresql_and_redis():
    """`make integration` skips the tier when the servers are down; this catches a run on SQLite."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("integration tier: needs DATABASE_URL on PostgreSQL and REDIS_URL (run `make integration`)")


@pytest.fixture
def committed_db(transactional_db, django_db_serialized_rollback):
    """A database whose commits other connections, threads and processes see.

    Each test starts from what the migrations wrote (the role groups among it): the flush after
    a transactional test empties every table, and the serialized copy taken at set-up is loaded back.
    """


@pytest.fixture(scope="session")
def _smtp_server_for_session():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(_smtp_server_for_session):
    """A real SMTP server on 127.0.0.1; `smtp_server.sink.messages_to(address)` lists what arrived."""
    _smtp_server_for_session.sink.clear()
    return _smtp_server_for_session


@pytest.fixture
def start_worker(committed_db, smtp_server, tmp_path):
    """Start a Celery worker process on the test database: `start_worker(broker_url=..., pool=..., concurrency=...)`.

    The default queue on the shared Redis is emptied first, so that a message left over from an
    earlier run cannot be taken for one the test published. Workers are stopped before the test
    database is flushed (this fixture depends on `committed_db`, so it is torn down first).
    """
    from config.celery import app

    app.control.purge()
    workers: list[CeleryWorker] = []

    def start(*, broker_url: str = settings.REDIS_URL, pool: str = "solo", concurrency: int = 1) -> CeleryWorker:
        worker = CeleryWorker(
            broker_url=broker_url,
            smtp=smtp_server,
            log_path=tmp_path / f"worker-{len(workers) + 1}.log",
            pool=pool,
            concurrency=concurrency,
        )
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of this test's own, which the test may stop and start again on the same port."""
    server = RedisServer(tmp_path / "redis.log")
    if server.binary is None:
        pytest.skip("redis-server is not installed: this test runs a Redis of its own")
    server.start()
    yield server
    server.stop()
