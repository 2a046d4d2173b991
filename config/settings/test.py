"""Settings for the test suite: fast hashing, in-memory email and SMS, real database."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DIR, REDIS_URL, env

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SALUS_SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Unit tests never reach a broker: they call tasks directly. A task published by
    # mistake would land on this in-memory transport and never run (and tests would show it).
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
SALUS_VAR_DIR = env("SALUS_VAR_DIR", default=str(BASE_DIR / "var" / "test"))
# Private files per test run and per xdist worker: concurrent runs never sweep each other's
# files. Set in the environment so that worker subprocesses started by a test share it.
_private_run = os.environ.setdefault("SALUS_TEST_PRIVATE_ROOT", tempfile.mkdtemp(prefix="salus-test-private-"))
PRIVATE_STORAGE_ROOT = Path(_private_run) / os.environ.get("PYTEST_XDIST_WORKER", "main")
ACCOUNT_RATE_LIMITS = False
# Static files are served from where the apps keep them (WHITENOISE_USE_FINDERS); nothing is
# collected here.
STATIC_ROOT = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
