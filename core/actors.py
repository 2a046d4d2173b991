"""Who acts when nobody signed in does: background work names itself with a system actor.

Every service takes an `actor`. A person is a user; a beat task, a worker or a management command
passes a `SystemActor` naming the job (`SystemActor("retention")`). `None` is never an actor: a
service given one raises `TypeError` (through `actor_required`), so that a forgotten argument
cannot skip a check. It is a `TypeError`, not `PermissionDenied`, because it is a mistake in the
calling code, never a person being refused: it must fail loudly (a 500 and a traceback), not turn
into a quiet 403 or 404.

A system actor fails every check written for people (it is not authenticated, not staff, holds no
permission); a service that allows background work says so with `is_system_actor(actor)`.
Every service checks its actor itself through its app's `permissions.py` and raises
`django.core.exceptions.PermissionDenied` for an actor who may not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SystemActor:
    system_name: str

    pk = None
    id = None
    is_authenticated = False
    is_anonymous = False
    is_active = False
    is_staff = False
    is_superuser = False
    email = ""

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perm_list: object, obj: object = None) -> bool:
        return False

    def __str__(self) -> str:
        return f"system: {self.system_name}"


def is_system_actor(actor: Any) -> bool:
    return isinstance(actor, SystemActor)


def actor_required(actor: Any) -> None:
    """Refuse a missing actor (see the module docstring)."""
    if actor is None:
        raise TypeError("A service needs an actor: the user acting, or a SystemActor naming the job.")
