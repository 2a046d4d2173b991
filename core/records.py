"""Saving with validation and the actor on the history row: how every domain app writes a row."""

from __future__ import annotations

from typing import Any

from django.db import models


def actor_user(actor: Any):
    """The user behind an actor, as a foreign key or a history row records it: None for a system
    actor (background work names itself, it is no person)."""
    return actor if getattr(actor, "pk", None) else None


def save_validated(instance: models.Model, *, actor: Any) -> None:
    """Validate and save, recording the actor on the history row (every domain app saves this way).

    A system actor (background work) or an anonymous one is recorded as no user: history names
    people, and the system is not one."""
    instance.full_clean()
    instance._history_user = actor_user(actor)  # type: ignore[attr-defined]
    instance.save()


def actor_label(actor: Any) -> str:
    """How a hash-chained row names who acted: staff by email (evidence of who read what);
    anyone else by account number only, since an erasure may never rewrite a chained row;
    background work by the system actor's own name."""
    if actor is None or not getattr(actor, "pk", None):
        name = getattr(actor, "system_name", "")
        return f"system: {name}" if name else "system"
    return actor.email if actor.is_staff else f"user #{actor.pk}"
