"""What a request says about where it came from, as the access log and the consent ledger record it."""

from django.http import HttpRequest

USER_AGENT_MAX = 300


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address as the web server saw it (the proxy sets REMOTE_ADDR; see README)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def client_user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]


def path_without_ids(path: str) -> str:
    """A path cut before its first segment that holds a digit (an id or a token), for carrying in a
    sign-in URL's `next`: `/admin/patients/patient/5/change/` → `/admin/patients/patient/`. A query
    string ends up in server and proxy logs, the browser's history and the next page's `Referer`."""
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if any(ch.isdigit() for ch in segment):
            return "/".join(segments[:i]) + "/"
    return path
