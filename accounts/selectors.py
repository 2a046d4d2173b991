from __future__ import annotations

from typing import TYPE_CHECKING

from .permissions import user_is_administrator
from .roles import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from .models import User


def user_roles(*, user: User | AnonymousUser) -> frozenset[Role]:
    """The roles a user holds, cached on the user object for the request.

    The administrator role is `user_is_administrator` (an active superuser), whatever the groups
    say, so that asking for the role and asking the function never disagree."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_salus_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(r for r in Role if r.value in names and r is not Role.ADMINISTRATOR)
        if user_is_administrator(user):
            cached = cached | {Role.ADMINISTRATOR}
        user._salus_roles = cached  # type: ignore[attr-defined]  # a per-request cache on the user object
    return cached


def user_has_role(*, user: User | AnonymousUser, role: Role) -> bool:
    return role in user_roles(user=user)
