"""Time zones of people: the one a user or a patient reads times in."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings


def time_zone_of(person: object) -> ZoneInfo:
    """The time zone a person (a user, or a patient's record) reads times in: theirs, else the site's."""
    for name in (getattr(person, "time_zone", None), settings.TIME_ZONE):
        if name:
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")
