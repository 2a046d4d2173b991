"""The admin's sign-in address, which signs no one in.

Staff sign in through allauth (its rate limits, the TOTP step). Django's own admin login form
would check a password and open a session with neither, so the staff site's login is this view
(accounts.admin_site): whatever the method, it only sends people on, as every admin page does for a
visitor without access.
"""

from urllib.parse import urlencode, urlsplit

from django.contrib import admin
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from core.http import path_without_ids


def admin_next(candidate: str) -> str:
    """Where to go once signed in: an admin path, its query string dropped (it may carry a search
    term or a token) and cut before any segment with a digit (an id); anything else — another
    site, another part of the site, the sign-in or sign-out address — becomes the admin index."""
    index = reverse("admin:index")
    if not url_has_allowed_host_and_scheme(candidate, allowed_hosts=None):
        return index
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or not parts.path.startswith(index):
        return index
    if parts.path in (reverse("admin:login"), reverse("admin:logout")):
        return index
    # No identifier either: a record's page becomes its list, which the sign-in URL may carry.
    return path_without_ids(parts.path)


def staff_sign_in(request, next_path: str):
    """Anonymous: to allauth's sign-in, coming back to `next_path`. Staff: to `next_path`. Anyone
    else (a patient): a page saying this is not a staff account, with a way to sign out."""
    sign_in = f"{reverse('account_login')}?{urlencode({'next': next_path}, safe='/')}"
    if not request.user.is_authenticated:
        return redirect(sign_in)
    if admin.site.has_permission(request):
        return redirect(next_path)
    return TemplateResponse(request, "account/staff_only.html", {"sign_in_again": sign_in}, status=403)


@never_cache
def admin_login(request, extra_context=None):
    """The admin's sign-in address: sends people on (`staff_sign_in`). Posted credentials are never read."""
    return staff_sign_in(request, admin_next(request.GET.get("next", "")))
