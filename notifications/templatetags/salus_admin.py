"""What the admin's front page tells a staff member: unread notifications, notes to review."""

from django import template

register = template.Library()


@register.simple_tag
def staff_worklist(user) -> dict:
    from notifications.selectors import notifications_for_user

    return {"unread": notifications_for_user(user=user, unread_only=True).count()}
