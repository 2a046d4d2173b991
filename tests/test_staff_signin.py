"""Staff sign in through allauth only: the admin's own form is no login path, a staff session must
have passed the second factor (in this session) before any staff page or session API call, allauth's
rate limits hold, and staff pages show times in the reader's time zone.

Given the standard cast (tests/conftest.py), with SALUS_MFA_REQUIRED_FOR_STAFF switched on where
a test says so: care_manager_alice and admin_ada hold a TOTP authenticator whose secret the test
knows, so it can compute the codes an authenticator app would show.
"""

import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import formats, translation
from rest_framework.authtoken.views import ObtainAuthToken

from config.settings import base as base_settings
from core.http import path_without_ids

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # the password tests/conftest.py gives every named user
LOGIN = "/accounts/login/"
MFA_AUTHENTICATE = "/accounts/2fa/authenticate/"
MFA_REAUTHENTICATE = "/accounts/2fa/reauthenticate/"
AUDIT_REPORT = "/admin/audit-report/"
QUEUE = "/admin/scheduling/appointment/queue/"
API_PATIENTS = "/api/v1/patients/"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """allauth keeps rate-limit counters and used TOTP codes in the cache: a cache of this test only."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "staff-signin"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mfa_required(settings):
    settings.SALUS_MFA_REQUIRED_FOR_STAFF = True


def _enrol_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def _code(secret: str) -> str:
    """The code an authenticator app shows now."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


@pytest.fixture
def alice_secret(care_manager_alice):
    return _enrol_totp(care_manager_alice)


@pytest.fixture
def ada_secret(admin_ada):
    return _enrol_totp(admin_ada)


def _session_user_id(client):
    return client.session.get("_auth_user_id")


def _sign_in(client, user):
    """allauth's password step, as the sign-in page posts it."""
    return client.post(LOGIN, {"login": user.email, "password": PASSWORD})


def _staff_pages(paul):
    return ["/admin/", f"/admin/patients/patient/{paul.pk}/change/", AUDIT_REPORT, QUEUE]


# --- the attack: a patient's session posts a care manager's credentials to /admin/login/ ----------


def test_a_patient_session_cannot_sign_in_as_staff_through_admin_login(
    client, patient_paul, care_manager_alice, alice_secret, mfa_required
):
    client.cookies["django_language"] = "en"  # Paul's record says French
    assert _sign_in(client, patient_paul).status_code == 302
    assert _session_user_id(client) == str(patient_paul.pk)

    page = client.get("/admin/login/")
    assert page.status_code == 403
    assert b'name="password"' not in page.content
    assert b'action="/accounts/logout/"' in page.content and b'method="post"' in page.content
    assert b"not a staff account" in page.content

    for credentials in (
        {"username": care_manager_alice.email, "password": PASSWORD},
        {"login": care_manager_alice.email, "password": PASSWORD},
        {"email": care_manager_alice.email, "password": PASSWORD},
    ):
        response = client.post("/admin/login/?next=/admin/", credentials)
        assert response.status_code == 403
        assert _session_user_id(client) == str(patient_paul.pk)

    admin_index = client.get("/admin/")
    assert admin_index.status_code == 403  # the page that says this is not a staff account
    assert _session_user_id(client) == str(patient_paul.pk)


def test_the_non_staff_page_is_translated(client, patient_paul):
    client.force_login(patient_paul)  # Paul's record says French
    assert "n’est pas un compte professionnel" in client.get("/admin/login/").content.decode()
    client.cookies["django_language"] = "it"
    assert "non è un account operatore" in client.get("/admin/login/").content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_anonymous_visitor_at_admin_login_is_sent_to_allauth(client, care_manager_alice, method):
    credentials = {"username": care_manager_alice.email, "password": PASSWORD}
    url = "/admin/login/?next=/admin/patients/patient/"
    response = client.post(url, credentials) if method == "post" else client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/patients/patient/"
    assert _session_user_id(client) is None


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/admin/", "//evil.example/admin/", "/admin/login/", "/portal/privacy/exports/abc/pdf/", "admin/"],
)
def test_admin_login_keeps_only_an_admin_path_as_next(client, db, next_url):
    response = client.get("/admin/login/", {"next": next_url})
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_admin_login_drops_the_query_string_of_next(client, db):
    response = client.get("/admin/login/", {"next": "/admin/patients/patient/?q=Lef%C3%A8vre&token=abc"})
    assert response["Location"] == "/accounts/login/?next=/admin/patients/patient/"


def test_a_signed_in_staff_user_at_admin_login_goes_to_the_admin(client, front_desk_fay):
    client.force_login(front_desk_fay)
    for response in (client.get("/admin/login/"), client.post("/admin/login/", {"username": "x", "password": "y"})):
        assert response.status_code == 302 and response["Location"] == "/admin/"
    assert _session_user_id(client) == str(front_desk_fay.pk)


# --- the second factor is asked of this session, not of the account -------------------------------


def test_a_password_only_sign_in_is_not_a_session(client, admin_ada, paul, ada_secret, mfa_required):
    """allauth stops at the 2FA step: nobody is signed in yet, every staff page and the API refuse."""
    response = _sign_in(client, admin_ada)
    assert response.status_code == 302 and response["Location"] == MFA_AUTHENTICATE
    assert _session_user_id(client) is None
    for page in _staff_pages(paul):
        response = client.get(page)
        assert response.status_code == 302 and "/login/" in response["Location"], page
    assert client.get(API_PATIENTS).status_code in (401, 403)


def test_a_staff_session_without_the_second_factor_is_refused_everywhere(client, admin_ada, paul, ada_secret, mfa_required):
    client.force_login(admin_ada)  # a session that never passed TOTP (how the admin's form made them)
    for page in _staff_pages(paul):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == f"{MFA_REAUTHENTICATE}?next={path_without_ids(page)}", page
    assert client.post("/admin/patients/patient/add/", {"given_name": "X"}).status_code == 302
    # Nor can a password alone remove the authenticator: allauth's account pages wait too.
    for page in ("/accounts/2fa/", "/accounts/2fa/totp/deactivate/", "/accounts/password/change/"):
        assert client.get(page)["Location"] == f"{MFA_REAUTHENTICATE}?next={path_without_ids(page)}", page

    api = client.get(API_PATIENTS)
    assert api.status_code == 403 and api["Content-Type"] == "application/json"
    assert "second factor" in api.json()["detail"]


def test_the_same_staff_user_after_totp_reaches_every_staff_page(client, admin_ada, paul, ada_secret, mfa_required):
    assert _sign_in(client, admin_ada)["Location"] == MFA_AUTHENTICATE
    wrong = client.post(MFA_AUTHENTICATE, {"code": "000000" if _code(ada_secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and _session_user_id(client) is None

    passed = client.post(MFA_AUTHENTICATE, {"code": _code(ada_secret)})
    assert passed.status_code == 302 and _session_user_id(client) == str(admin_ada.pk)
    for page in _staff_pages(paul):
        assert client.get(page).status_code == 200, page
    assert client.get(API_PATIENTS).status_code == 200


def test_a_session_missing_the_second_factor_can_pass_it_by_reauthenticating(client, admin_ada, paul, ada_secret, mfa_required):
    client.force_login(admin_ada)
    response = client.get("/admin/", follow=True)
    assert response.request["PATH_INFO"] == MFA_REAUTHENTICATE
    assert b"second factor" in response.content  # the page says why it is asking

    passed = client.post(f"{MFA_REAUTHENTICATE}?next=/admin/", {"code": _code(ada_secret)})
    assert passed.status_code == 302 and passed["Location"] == "/admin/"
    for page in _staff_pages(paul):
        assert client.get(page).status_code == 200, page


def test_enrolling_totp_then_passing_it_opens_the_staff_pages(client, admin_ada, mfa_required):
    """allauth does not count the enrolment code as passing the second factor: the page asks once more."""
    client.force_login(admin_ada)
    to_enrol = client.get("/admin/")
    assert to_enrol.status_code == 302 and to_enrol["Location"] == "/accounts/2fa/totp/activate/"

    # allauth asks for the password before an authenticator is added.
    assert client.get("/accounts/2fa/totp/activate/").status_code == 302
    assert client.post("/accounts/reauthenticate/?next=/accounts/2fa/totp/activate/", {"password": PASSWORD}).status_code == 302
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session["mfa.totp.secret"]
    assert client.post("/accounts/2fa/totp/activate/", {"code": _code(secret)}).status_code == 302

    again = client.get("/admin/")
    assert again.status_code == 302 and again["Location"] == f"{MFA_REAUTHENTICATE}?next=/admin/"
    assert client.get(API_PATIENTS).status_code == 403
    assert client.post(f"{MFA_REAUTHENTICATE}?next=/admin/", {"code": _code(secret)}).status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get(API_PATIENTS).status_code == 200


def test_an_api_token_is_not_held_to_the_session_rule(api, admin_ada, ada_secret, mfa_required):
    """Tokens are issued by an administrator in the admin; they carry no session and no MFA record."""
    assert api.as_user(admin_ada).get(API_PATIENTS).status_code == 200


def test_patients_are_not_asked_for_a_second_factor(client, patient_paul, mfa_required):
    client.force_login(patient_paul)
    assert client.get("/portal/").status_code == 200


def test_staff_are_not_asked_when_the_setting_is_off(client, admin_ada, ada_secret):
    client.force_login(admin_ada)
    assert client.get("/admin/").status_code == 200
    assert client.get(API_PATIENTS).status_code == 200


# --- rate limits and other ways in -----------------------------------------------------------------


@pytest.fixture
def rate_limits_on(settings):
    """The limits of config/settings/base.py (the test settings switch them off)."""
    settings.ACCOUNT_RATE_LIMITS = base_settings.ACCOUNT_RATE_LIMITS


def test_allauth_limits_cover_every_sign_in_step(rate_limits_on):
    from allauth.account import app_settings

    limits = app_settings.RATE_LIMITS
    for action in ("login", "login_failed", "reset_password", "reset_password_from_key", "reauthenticate", "signup"):
        assert limits.get(action), action


def test_failed_password_attempts_lock_the_account_out(client, care_manager_alice, rate_limits_on):
    for _ in range(5):  # "5/5m/key"
        response = client.post(LOGIN, {"login": care_manager_alice.email, "password": "wrong-password-1"})
        assert response.status_code == 200
    locked = client.post(LOGIN, {"login": care_manager_alice.email, "password": PASSWORD})
    assert _session_user_id(client) is None
    assert locked.status_code == 429 or b"Too many failed login attempts" in locked.content

    # The admin's address is no way around it: it signs no one in.
    client.post("/admin/login/", {"username": care_manager_alice.email, "password": PASSWORD})
    assert _session_user_id(client) is None


def test_failed_totp_codes_lock_the_second_step_out(client, admin_ada, ada_secret, mfa_required, rate_limits_on):
    assert _sign_in(client, admin_ada)["Location"] == MFA_AUTHENTICATE
    wrong = "000000" if _code(ada_secret) != "000000" else "111111"
    for _ in range(5):
        client.post(MFA_AUTHENTICATE, {"code": wrong})
    locked = client.post(MFA_AUTHENTICATE, {"code": _code(ada_secret)})
    assert _session_user_id(client) is None
    assert locked.status_code == 429 or b"Too many failed login attempts" in locked.content


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_no_other_login_view_is_routed(db):
    """Only allauth signs people in: no Django LoginView, no DRF session login, no token endpoint."""
    from accounts.admin_site import SalusAdminSite

    for route, callback in _patterns(get_resolver()):
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view_class is not None:
            assert not issubclass(view_class, LoginView | ObtainAuthToken), route
        assert callback is not admin.AdminSite.login, route
    login = resolve("/admin/login/").func
    assert login.__func__ is SalusAdminSite.login and isinstance(login.__self__, SalusAdminSite), login
    assert isinstance(admin.site, SalusAdminSite)
    for route in ("/api/v1/auth/login/", "/api-auth/login/", "/api/v1/api-auth/login/", "/api/v1/token/"):
        assert _resolves(route) is False, route


def _resolves(path):
    from django.urls import Resolver404

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


# --- times in the reader's time zone ---------------------------------------------------------------


def test_staff_read_a_consents_signed_time_in_their_own_zone(client, care_manager_alice, admin_ada, paul, patient_paul):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from consent.models import Purpose
    from consent.services import consent_sign, consent_template_version_create

    consent_template_version_create(
        actor=admin_ada,
        purpose=Purpose.VIRTUAL_VISIT,
        effective_from=dt.date(2026, 1, 1),
        titles={"en": "Virtual visits", "fr": "Téléconsultations", "it": "Visite virtuali"},
        texts={"en": "I agree to video visits.", "fr": "J’accepte la téléconsultation.", "it": "Accetto le visite video."},
    )
    consent = consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method="portal", signer_name=paul.full_name
    )
    type(care_manager_alice).objects.filter(pk=care_manager_alice.pk).update(time_zone="Europe/Rome")
    type(admin_ada).objects.filter(pk=admin_ada.pk).update(time_zone="America/New_York")

    seen = {}
    for user, zone in ((care_manager_alice, "Europe/Rome"), (admin_ada, "America/New_York")):
        client.force_login(user)
        page = client.get(f"/admin/consent/consent/{consent.pk}/change/")
        assert page.status_code == 200
        with translation.override("en"):
            expected = formats.date_format(consent.signed_at.astimezone(ZoneInfo(zone)), "DATETIME_FORMAT")
        assert expected in page.content.decode(), zone
        seen[zone] = expected
    assert seen["Europe/Rome"] != seen["America/New_York"]


def test_admin_login_carries_no_record_id_into_the_sign_in_url(client, db):
    response = client.get("/admin/login/", {"next": "/admin/patients/patient/5/change/"})
    assert response["Location"] == "/accounts/login/?next=/admin/patients/patient/"
    response = client.get("/admin/login/", {"next": "/admin/scheduling/appointment/queue/"})
    assert response["Location"] == "/accounts/login/?next=/admin/scheduling/appointment/queue/"


def test_an_admin_page_sends_a_visitor_to_sign_in_without_the_records_id(client, db, patient_paul, paul):
    # Anonymous: straight to allauth, with the record's list (never /admin/login/?next=<the record>).
    response = client.get(f"/admin/patients/patient/{paul.pk}/change/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/admin/patients/patient/"
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    # A signed-in patient: the page that says this is not a staff account.
    client.force_login(patient_paul)
    response = client.get(f"/admin/patients/patient/{paul.pk}/change/")
    assert response.status_code == 403
    assert "/accounts/login/?next=/admin/patients/patient/" in response.content.decode()
