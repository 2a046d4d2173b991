"""The real parts the integration tier runs beside PostgreSQL: a Celery worker process, an SMTP
server that keeps what it receives, and a private Redis that a test may stop and start again."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

# Waits poll until something happens or the bound runs out; nothing asserts how long it took.
POLL_SECONDS = 0.2
WAIT_SECONDS = 30.0
# A worker reconnecting after a broker outage backs off for up to a few of its retry steps.
RECONNECT_SECONDS = 90.0


def wait_until(predicate: Callable, *, what: str, timeout: float = WAIT_SECONDS, details: Callable[[], str] = str):
    """Poll `predicate` until it returns a true value, and return that value; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"Gave up waiting for {what}.\n{details()}")
        time.sleep(POLL_SECONDS)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url_for_subprocesses() -> str:
    """The URL of the database pytest-django created, for processes started by the test."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{auth}{'@' if auth else ''}{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


# --- SMTP -----------------------------------------------------------------------------------


class SmtpSink:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted for delivery"

    def messages_to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for m in self._messages if address in m["X-Envelope-To"].split(", ")]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class SmtpServer:
    def __init__(self):
        self.sink = SmtpSink()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller = Controller(self.sink, hostname=self.host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


# --- Redis ----------------------------------------------------------------------------------


class RedisServer:
    """A Redis of the test's own, on a free port, without persistence: stopping it loses its data."""

    def __init__(self, log_path: Path):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log_path = log_path
        self._proc: subprocess.Popen | None = None

    def _answers(self) -> bool:
        try:
            with redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1) as client:
                return client.ping()
        except redis.ConnectionError:
            return False

    def start(self) -> None:
        with open(self._log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._answers, what=f"redis-server on port {self.port}", details=self._log_path.read_text)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._proc = None


@contextmanager
def celery_publishing_to(url: str):
    """Point this process's Celery app at another broker, then back.

    The app caches its connection and producer pools; dropping them makes the next publish
    look up pools for the new URL. The pools of the previous URL stay in kombu's registry and
    are found again when the URL is put back.
    """
    from config.celery import app

    def repoint(to: str) -> None:
        app.conf.broker_url = to
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    repoint(url)
    try:
        yield app
    finally:
        repoint(previous)


def broker_queue_length(url: str, queue: str = "celery") -> int:
    """Messages waiting in a Celery queue on Redis (kombu keeps a queue as a Redis list of its name)."""
    with redis.Redis.from_url(url) as client:
        return client.llen(queue)


# --- Celery worker --------------------------------------------------------------------------


class CeleryWorker:
    """`celery -A config worker` in its own process group, its output kept in a file."""

    def __init__(self, *, broker_url: str, smtp: SmtpServer, log_path: Path, pool: str = "solo", concurrency: int = 1):
        self.name = f"integration-{uuid.uuid4().hex[:8]}@%h"
        self.log_path = log_path
        self.command = [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            f"--hostname={self.name}",
        ]
        base_dir = str(settings.BASE_DIR)
        self.cwd = base_dir
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.integration.worker_settings",
            "DATABASE_URL": database_url_for_subprocesses(),
            "REDIS_URL": broker_url,
            "SALUS_TEST_SMTP_HOST": smtp.host,
            "SALUS_TEST_SMTP_PORT": str(smtp.port),
            "PYTHONPATH": os.pathsep.join(p for p in (base_dir, os.environ.get("PYTHONPATH")) if p),
            "PYTHONUNBUFFERED": "1",
        }
        self._proc: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def details(self) -> str:
        return f"--- worker output ({self.log_path}) ---\n{self.log()[-6000:]}"

    def count(self, text: str) -> int:
        return self.log().count(text)

    def tasks_succeeded(self, task_name: str) -> int:
        return sum(1 for line in self.log().splitlines() if f"Task {task_name}[" in line and "] succeeded in " in line)

    def start(self, *, timeout: float = 60.0) -> None:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        def ready() -> bool:
            if self._proc.poll() is not None:
                pytest.fail(f"The Celery worker exited with status {self._proc.returncode}.\n{self.details()}")
            return " ready." in self.log()

        wait_until(ready, what="the Celery worker to be ready", timeout=timeout, details=self.details)

    def stop(self) -> None:
        """Warm shutdown; the whole process group is killed if it does not end in time."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)
