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
