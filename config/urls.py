from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from .health import health

# `admin.site` is the staff site of accounts.admin_site: staff sign in through allauth (rate limits,
# MFA); its sign-in address signs no one in and only sends people on.
admin.site.site_header = format_lazy(_("{site} — staff"), site=settings.SALUS_SITE_NAME)
admin.site.site_title = settings.SALUS_SITE_NAME
admin.site.index_title = _("Clinical CRM")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False)),
    path("admin/audit-report/", include("consent.report_admin")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/consents/", include("consent.urls")),
    path("portal/privacy/", include("privacy.urls")),
    path("portal/appointments/", include("scheduling.urls")),
    path("portal/", include("portal.urls")),
    path("api/v1/", include("config.api_urls")),
    path("health/", health, name="health"),
]
