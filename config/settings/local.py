"""The embedded default: one laptop, SQLite, a file-system Celery broker, console email."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = SECRET_KEY or "local-only-not-secret-0f7c2b9e6d6a4e0c9d7f"
for sub in ("broker/queue", "broker/processed", "broker/control", "cache", "private"):
    (VAR_DIR / sub).mkdir(parents=True, exist_ok=True)
