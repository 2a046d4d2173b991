"""Sending anonymous visitors to sign in without putting the page they asked for in a query string."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

from core.http import path_without_ids


def login_required_landing(landing: str | None = None) -> Callable:
    """Like `login_required`, except that an anonymous visitor is sent to sign in with `next` set to
    a fixed page (`landing`, a URL name: the list the asked-for page belongs to), never to the page
    itself: that path may hold an id or a download token, and a query string ends up in server
    and proxy logs, the browser's history and the `Referer` of the next request. Without a
    `landing`, `next` is the page's path without its query string, cut before any id
    (`core.http.path_without_ids`)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.user.is_authenticated:
                return view(request, *args, **kwargs)
            return redirect_to_login(reverse(landing) if landing else path_without_ids(request.path))

        return wrapped

    return decorator
