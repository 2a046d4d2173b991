from django.contrib.admin.apps import AdminConfig


class SalusAdminConfig(AdminConfig):
    """Django's admin, with the staff site of `accounts.admin_site` as `admin.site`."""

    default_site = "accounts.admin_site.SalusAdminSite"
