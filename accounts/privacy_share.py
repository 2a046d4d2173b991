"""The portal account's share of an erasure (see `core.privacy`).

The account is disabled and stripped of what identifies or authenticates it: the email (replaced
by an unusable unique address), names, password, verified addresses, MFA devices, API tokens and
sessions. The admin's own log, which keeps each object's label and what changed, loses the
patient's names wherever it quotes them. Runs last: every other share still sees the account.
"""

import json

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model

from core.privacy import ErasureContext, Identity, PrivacyShare, rows_mentioning, scrub, share_register


def _identity(patient) -> Identity:
    if not patient.user_id:
        return Identity()
    user = patient.user
    return Identity().add(distinctive=[user.email, user.get_full_name()], common=[user.first_name, user.last_name])


def _close_account(user) -> None:
    user.is_active = False
    user.email = f"erased-{user.pk}@erased.invalid"
    user.first_name = user.last_name = ""
    user.set_unusable_password()
    user.save()
    for app, app_label, model_name in (
        ("allauth.account", "account", "EmailAddress"),
        ("allauth.mfa", "mfa", "Authenticator"),
        ("rest_framework.authtoken", "authtoken", "Token"),
    ):
        if apps.is_installed(app):
            apps.get_model(app_label, model_name).objects.filter(user=user).delete()
    if settings.SESSION_ENGINE in ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"):
        from django.contrib.sessions.models import Session

        mine = [s.pk for s in Session.objects.iterator() if s.get_decoded().get("_auth_user_id") == str(user.pk)]
        Session.objects.filter(pk__in=mine).delete()


def _scrub_log_entries(ctx: ErasureContext) -> None:
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    patient, identity = ctx.patient, ctx.identity
    full = identity.pattern()
    own = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(type(patient)), object_id=str(patient.pk))
    if patient.user_id:
        own |= LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(get_user_model()), object_id=str(patient.user_id)
        )
    others = rows_mentioning(LogEntry.objects.all(), ("object_repr", "change_message"), identity.search_terms())
    for entries, pattern in ((own, full), (others, identity.pattern(distinctive_only=True))):
        for entry in entries.iterator():
            try:
                message = json.dumps(scrub(json.loads(entry.change_message), pattern)) if entry.change_message else ""
            except ValueError:
                message = scrub(entry.change_message, pattern)
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=scrub(entry.object_repr, pattern), change_message=message)


def _erase(ctx: ErasureContext) -> None:
    _scrub_log_entries(ctx)
    if ctx.patient.user_id:
        _close_account(ctx.patient.user)


share_register(PrivacyShare(app_label="accounts", identity=_identity, erase=_erase, erase_order=95))
