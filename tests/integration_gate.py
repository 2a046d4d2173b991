"""pytest plugin for the integration tier: PostgreSQL and Redis must answer, or every test skips
with a message saying which one is missing and how to start it."""

import os
import socket
from urllib.parse import urlparse

import pytest

_reason: str | None = None


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def pytest_configure(config):
    global _reason
    db, redis = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    missing = []
    if not db.startswith(("postgres://", "postgresql://")) or not _reachable(db, 5432):
        missing.append(f"PostgreSQL ({db or 'DATABASE_URL unset'})")
    if not redis.startswith("redis://") or not _reachable(redis, 6379):
        missing.append(f"Redis ({redis or 'REDIS_URL unset'})")
    if missing:
        _reason = (
            "integration tier skipped: " + " and ".join(missing) + " not reachable. "
            "Start them (see README, 'Tests') or set DATABASE_URL / REDIS_URL."
        )


def pytest_collection_modifyitems(config, items):
    if _reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=_reason))


def pytest_report_header(config):
    return _reason or "integration tier: PostgreSQL and Redis reachable"
