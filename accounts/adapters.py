from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from .middleware import preferred_language_activate


class SalusAccountAdapter(DefaultAccountAdapter):
    """Accounts are opened by the hospital (staff, or a patient's portal invitation), not by signup."""

    def is_open_for_signup(self, request):
        return False

    def login(self, request, user):
        super().login(request, user)
        # The sign-in request began in the browser's language; the messages written from here on
        # (allauth's "Successfully signed in") are in the person's own.
        preferred_language_activate(request=request, user=user)

    def get_login_redirect_url(self, request):
        user = request.user
        if user.is_staff:
            return reverse("admin:index")
        return reverse("portal:home")
