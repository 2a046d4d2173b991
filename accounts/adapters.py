from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


class SalusAccountAdapter(DefaultAccountAdapter):
    """Accounts are opened by the hospital (staff, or a patient's portal invitation), not by signup."""

    def is_open_for_signup(self, request):
        return False

    def get_login_redirect_url(self, request):
        user = request.user
        if user.is_staff:
            return reverse("admin:index")
        return reverse("portal:home")
