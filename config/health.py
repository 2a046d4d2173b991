"""Health endpoint for load balancers: database, cache/broker and a recent worker heartbeat."""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0] == 1


def _cache() -> bool:
    cache.set("salus:health", "ok", 10)
    return cache.get("salus:health") == "ok"


def _broker() -> bool:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return True


def _worker() -> bool:
    from notifications.models import WorkerHeartbeat

    recent = timezone.now() - timedelta(seconds=getattr(settings, "SALUS_WORKER_HEARTBEAT_MAX_AGE", 180))
    return WorkerHeartbeat.objects.filter(seen_at__gte=recent).exists()


def health(request):
    checks = {}
    for name, check in (("database", _database), ("cache", _cache), ("broker", _broker), ("worker", _worker)):
        try:
            checks[name] = "ok" if check() else "failing"
        except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
            checks[name] = f"failing: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "failing", "checks": checks}, status=200 if healthy else 503)
