"""Production settings: refuse to start without their secrets, and pass Django's deploy checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "salus.example.org",
    "DATABASE_URL": "postgres://salus@db.invalid:5432/salus",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "EMAIL_URL": "smtp+tls://user:pass@smtp.invalid:587",
    "SALUS_SMS_BACKEND": "notifications.sms.ConsoleSmsBackend",
    "SALUS_SITE_URL": "https://salus.example.org",
}


def _manage(*args, env):
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_deploy_checks_are_clean():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "REDIS_URL", "EMAIL_URL", "SALUS_SMS_BACKEND", "SALUS_SITE_URL"]
)
def test_production_refuses_to_start_without_its_secrets(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_production_refuses_sqlite():
    result = _manage("check", env={**PRODUCTION_ENV, "DATABASE_URL": "sqlite:////tmp/x.sqlite3"})
    assert result.returncode != 0 and "PostgreSQL" in result.stderr


def test_staff_must_enrol_mfa_in_production(client, care_manager_alice, settings):
    settings.SALUS_MFA_REQUIRED_FOR_STAFF = True
    client.force_login(care_manager_alice)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/accounts/2fa/" in response["Location"]


def test_admin_sign_in_goes_through_allauth(client, db):
    response = client.get("/admin/", follow=True)
    assert response.request["PATH_INFO"] == "/accounts/login/"
    assert b'name="password"' in response.content
