"""Shared REST API plumbing: session authentication, pagination and the error format."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication

from accounts.mfa import MfaOwed, staff_mfa_owed


class StaffMfaSessionAuthentication(SessionAuthentication):
    """A browser session on the API, held to the staff pages' rule: a staff session that has not
    passed the second factor (or has none enrolled) is refused with a 403, never treated as
    anonymous. Token authentication is left as it is: tokens are issued by an administrator."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            owed = staff_mfa_owed(request=request._request, user=result[0])
            if owed is MfaOwed.ENROL:
                raise exceptions.PermissionDenied(
                    _("Staff accounts need an authenticator app: set one up at /accounts/2fa/totp/activate/ first.")
                )
            if owed is MfaOwed.VERIFY:
                raise exceptions.PermissionDenied(
                    _(
                        "This session has not passed the second factor: enter a code from your authenticator app"
                        " at /accounts/2fa/reauthenticate/ before using the API with it."
                    )
                )
        return result


class StaffMfaSessionScheme(SessionScheme):
    """The schema describes it as the session cookie it is."""

    target_class = "config.api.StaffMfaSessionAuthentication"


def exception_handler(exc, context):
    """Turn a service's ValidationError into a 400 naming the fields, like a serializer's."""
    # Imported here: DRF's APIView reads the authentication class above while rest_framework.views
    # is still being imported.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
