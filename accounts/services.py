from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction

from .models import User
from .permissions import user_may_create_account
from .roles import STAFF_ROLES, Role


@transaction.atomic
def user_create(
    *,
    actor,
    email: str,
    password: str | None,
    role: Role,
    first_name: str = "",
    last_name: str = "",
    preferred_language: str = "en",
    email_verified: bool = False,
) -> User:
    """Open an account with one role. Staff roles get admin access (`is_staff`); the administrator
    role is a superuser (see `accounts.permissions.user_is_administrator`)."""
    if not user_may_create_account(actor):
        raise PermissionDenied
    role = Role(role)
    user = User(
        email=User.objects.normalize_email(email).lower(),
        first_name=first_name,
        last_name=last_name,
        preferred_language=preferred_language,
        is_staff=role in STAFF_ROLES,
        is_superuser=role is Role.ADMINISTRATOR,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    user.groups.add(Group.objects.get(name=role.value))
    if email_verified:
        from allauth.account.models import EmailAddress

        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user
