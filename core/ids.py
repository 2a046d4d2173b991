"""Ids taken from URLs, query strings and request bodies."""

from django.http import Http404

# The largest primary key the database can hold (a signed 64-bit integer): anything past it is no
# object, and handing it to a query would be a database error rather than a 404.
MAX_ID = 2**63 - 1


def id_or_404(value: object, *, message: str = "Not found.") -> int:
    """A primary key from a URL, or 404: "abc", "1.5", 0 and numbers past the database's range are no object."""
    try:
        pk = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise Http404(message) from None
    if not 0 < pk <= MAX_ID:
        raise Http404(message)
    return pk
