"""The staff site (Django's admin): signing in goes through allauth only, and no address carries a
record's id on the way.

Django's admin sends a visitor without access to `/admin/login/?next=<the page asked for>` — a
patient's or an appointment's id in a query string, which ends up in server and proxy logs and the
browser's history. Here a page of the admin sends such a visitor straight on (`staff_sign_in`),
with the page's list as where to go next; `/admin/login/` itself never checks a password.
"""

from functools import update_wrapper

from django.contrib.admin import AdminSite
from django.urls import reverse
from django.views.decorators.cache import never_cache

from core.http import path_without_ids

from .views import admin_login, staff_sign_in


class SalusAdminSite(AdminSite):
    def login(self, request, extra_context=None):
        return admin_login(request, extra_context)

    def admin_view(self, view, cacheable=False):
        protected = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if not self.has_permission(request) and request.path != reverse("admin:logout", current_app=self.name):
                return staff_sign_in(request, path_without_ids(request.path))
            return protected(request, *args, **kwargs)

        if not cacheable:
            inner = never_cache(inner)
        return update_wrapper(inner, protected)
