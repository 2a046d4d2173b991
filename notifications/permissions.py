"""Who may do what with the outbox and the in-app notifications."""

from core.actors import actor_required, is_system_actor


def actor_may_deliver_outbox(actor) -> bool:
    """Delivering outbox rows: background work only (the worker, the dispatcher)."""
    actor_required(actor)
    return is_system_actor(actor)


def user_may_read_notification(user, notification) -> bool:
    """A notification is its recipient's alone."""
    actor_required(user)
    return bool(user.is_authenticated and user.is_active and notification.user_id == user.pk)
