from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse


class StaffMfaRequiredMiddleware:
    """Staff who have not enrolled a TOTP authenticator are sent to enrol before anything else.

    On in production (SALUS_MFA_REQUIRED_FOR_STAFF). Allauth's own pages, sign-out and static
    files stay reachable so that enrolment can happen.
    """

    allowed_prefixes = ("/accounts/", "/static/", "/i18n/", "/health/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.SALUS_MFA_REQUIRED_FOR_STAFF
            and request.user.is_authenticated
            and request.user.is_staff
            and not request.path.startswith(self.allowed_prefixes)
            and not request.path.startswith("/api/")
        ):
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(user=request.user, type=Authenticator.Type.TOTP).exists():
                return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


class PreferredLanguageMiddleware:
    """Signed-in users see pages in their own language until they pick one with the switcher.

    A patient's language is the one on their record (what their messages and PDFs use too);
    staff use the language on their account. The switcher's cookie always wins.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        if request.user.is_authenticated and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            patient = getattr(request.user, "patient", None)
            language = patient.preferred_language if patient is not None else request.user.preferred_language
            if language in dict(settings.LANGUAGES):
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)
