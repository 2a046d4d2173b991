"""The admin front page's links to the calendar and the provider's day, for users who have them."""

from django import template

register = template.Library()


@register.simple_tag
def scheduling_links(user) -> dict:
    from scheduling.admin.common import links_for

    return links_for(user)
