"""Middleware that needs the domains' helpers, so it lives in config, above every app (the layering
contract keeps accounts, at the bottom, from importing consent)."""

from django.utils import timezone

from consent.report import time_zone_of


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
