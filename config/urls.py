from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from accounts.views import admin_login

from .health import health

# Staff sign in through allauth (rate limits, MFA): the admin's own form is replaced by a view
# that signs no one in and only sends people on.
admin.site.login = admin_login
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
