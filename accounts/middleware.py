from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.http import path_without_ids
from core.time import time_zone_of

from .mfa import MfaOwed, staff_mfa_owed

MFA_VERIFY_MESSAGE = _(
    "Staff pages need the second factor in every session: enter a code from your authenticator app to continue."
)


class StaffMfaRequiredMiddleware:
    """Staff sessions pass the second factor before any staff page (on in production,
    SALUS_MFA_REQUIRED_FOR_STAFF).

    Staff without a TOTP authenticator are sent to enrol; allauth's pages stay open to them for
    that. Staff with one whose session has not passed it (however the session was opened) are sent
    to allauth's code step, which records the pass in the session and brings them back; until then
    only that step, sign-in and sign-out are open — not the account pages, where a password alone
    could remove the authenticator. Static files, the language switch and the health check are
    always open. The API is held to the same rule by its session authentication (config.api),
    which alone knows whether a call came with a session or with a token.
    """

    always_open = ("/static/", "/i18n/", "/health/", "/api/")
    open_to_enrol = "/accounts/"
    open_to_verify = ("mfa_reauthenticate", "account_login", "account_logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if not path.startswith(self.always_open):
            owed = staff_mfa_owed(request=request, user=request.user)
            if owed is MfaOwed.ENROL and not path.startswith(self.open_to_enrol):
                return redirect(reverse("mfa_activate_totp"))
            if owed is MfaOwed.VERIFY and path not in {reverse(name) for name in self.open_to_verify}:
                messages.info(request, MFA_VERIFY_MESSAGE)
                # Only the path comes back, without ids: query strings (a search for a patient's
                # name) and record ids stay out of the address.
                back = path_without_ids(path)
                return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': back}, safe='/')}")
        return self.get_response(request)


class PreferredLanguageMiddleware:
    """Signed-in users see pages in their own language until they pick one with the switcher.

    A patient's language is the one on their record (what their messages and PDFs use too);
    staff use the language on their account. The switcher's cookie always wins.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            preferred_language_activate(request=request, user=request.user)
        return self.get_response(request)


def preferred_language_activate(*, request, user) -> None:
    """Show the rest of this request in the user's own language, unless they picked one with the
    switcher. Sign-in calls it too: allauth writes its "signed in" message during that request."""
    from django.conf import settings
    from django.utils import translation

    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    patient = getattr(user, "patient", None)
    language = patient.preferred_language if patient is not None else user.preferred_language
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language


class UserTimeZoneMiddleware:
    """Every page shows times, and reads the times typed into its forms, in the signed-in person's
    time zone: a patient's is the one on their record (what "My details" sets), staff's the one on
    their account; the site's when neither names a valid zone. The zone is undone after the
    response, so that the next request on this thread starts from the site's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        patient = getattr(user, "patient", None)
        with timezone.override(time_zone_of(patient if patient is not None else user)):
            return self.get_response(request)
