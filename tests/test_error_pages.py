"""Patients and staff get the site's own error pages, never Django's debug pages."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns
from tests.scheduling.conftest import at, book, clinic, monday, practitioner_paula, service  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parent.parent


def _refused(request):
    raise PermissionDenied


def _broken(request):
    raise RuntimeError("a bug")


urlpatterns = [path("test-refused/", _refused), path("test-broken/", _broken), *site_urlpatterns]


def test_a_patient_opening_another_patients_visit_gets_the_sites_not_found_page(
    client, patient_paul, patient_petra, front_desk_fay, request
):
    # Given a visit of Petra's
    practitioner, service_, day = (request.getfixturevalue(f) for f in ("practitioner_paula", "service", "monday"))
    visit = book(front_desk_fay, patient_petra.patient, practitioner, service_, at(day, 10))
    # When Paul opens its address
    client.force_login(patient_paul)
    response = client.get(f"/portal/appointments/{visit.pk}/")
    # Then he gets the site's page, in the site's layout, that reveals nothing
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    page = response.content.decode()
    assert 'data-error="404"' in page and 'href="/portal/"' in page
    assert "URLconf" not in page and "Petra" not in page


@pytest.mark.urls(__name__)
def test_a_refused_action_gets_the_sites_access_refused_page(client, front_desk_fay):
    client.force_login(front_desk_fay)
    response = client.get("/test-refused/")
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    assert 'data-error="403"' in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_server_error_gets_the_sites_error_page(client, patient_paul):
    client.force_login(patient_paul)
    client.raise_request_exception = False
    response = client.get("/test-broken/")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'data-error="500"' in page and "a bug" not in page and "Traceback" not in page


def test_the_demo_settings_run_without_debug_and_serve_static_files_themselves(tmp_path):
    # The local settings (what `make demo` runs), with no DJANGO_DEBUG in the environment
    script = (
        "import django; django.setup();"
        "from django.conf import settings; from django.test import Client;"
        "c = Client(HTTP_HOST='127.0.0.1');"
        "css = c.get('/static/portal/portal.css'); missing = c.get('/no-such-page/');"
        "print(settings.DEBUG, css.status_code, missing.status_code, b'data-error=\"404\"' in missing.content,"
        " b'URLconf' in missing.content)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "DATABASE_URL", "REDIS_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", "SALUS_VAR_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "200", "404", "True", "False"]


def test_a_form_sent_without_its_csrf_token_gets_the_sites_own_page(patient_paul, paul):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_paul)
    response = client.post("/portal/profile/", {"phone": "+33 6 00 00 00 00"})
    assert response.status_code == 403
    assert [t.name for t in response.templates][:2] == ["403_csrf.html", "base.html"]
    # in Paul's language (French), without Django's wording about tokens
    assert "Ce formulaire a expiré" in response.content.decode() and "CSRF" not in response.content.decode()
    paul.refresh_from_db()
    assert paul.phone != "+33 6 00 00 00 00"
