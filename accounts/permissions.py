"""Who is an administrator, and who may open accounts.

`user_is_administrator` is the one definition of an administrator used everywhere in Salus: an
active, signed-in superuser. `user_create` opens every administrator as a superuser, and the
superuser flag is what Django and django-guardian honour (every model and object permission).
Membership of the `administrator` group alone does not count: such an account would hold the
group's model permissions but none of the object permissions, an administrator for some checks
and not for others.
"""

from core.actors import actor_required, is_system_actor


def user_is_administrator(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


def user_may_create_account(actor) -> bool:
    """Administrators open accounts; so does background work that sets Salus up (the demo seed,
    an import), which runs before any administrator exists."""
    actor_required(actor)
    return is_system_actor(actor) or user_is_administrator(actor)
