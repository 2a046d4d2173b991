from .roles import Role


def user_roles(*, user) -> frozenset[Role]:
    """The roles a user holds, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_salus_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(r for r in Role if r.value in names)
        if user.is_superuser:
            cached = cached | {Role.ADMINISTRATOR}
        user._salus_roles = cached
    return cached


def user_has_role(*, user, role: Role) -> bool:
    return role in user_roles(user=user)
