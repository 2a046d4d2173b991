"""Whether a staff session still owes its second factor.

allauth signs a user with an authenticator in only after the TOTP step, but a session can also
come from elsewhere (a session opened before the authenticator was enrolled, a test's
force_login, any login path added later). So the question asked on every staff request is not
"has this account an authenticator?" but "did *this session* pass it?": allauth records each step
a session passed (password, mfa, ...) in the session itself.
"""

from enum import StrEnum

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings


class MfaOwed(StrEnum):
    NOTHING = ""
    ENROL = "enrol"  # staff without a TOTP authenticator: set one up first
    VERIFY = "verify"  # an authenticator exists, but this session has not passed it


def session_passed_mfa(request, user) -> bool:
    """A TOTP or recovery code was accepted in this session, for this user (allauth's records are
    tied to the user they were made for)."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


def staff_mfa_owed(*, request, user) -> MfaOwed:
    """What a session must still do before staff pages or session API calls (production only)."""
    if not (settings.SALUS_MFA_REQUIRED_FOR_STAFF and user.is_authenticated and user.is_staff):
        return MfaOwed.NOTHING
    if not is_mfa_enabled(user, [Authenticator.Type.TOTP]):
        return MfaOwed.ENROL
    if not session_passed_mfa(request, user):
        return MfaOwed.VERIFY
    return MfaOwed.NOTHING
