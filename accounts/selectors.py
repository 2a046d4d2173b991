from .permissions import user_is_administrator
from .roles import Role


def user_roles(*, user) -> frozenset[Role]:
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
        user._salus_roles = cached
    return cached


def user_has_role(*, user, role: Role) -> bool:
    return role in user_roles(user=user)
