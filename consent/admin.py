"""Staff UI for consents. Privacy-request admin lives in admin_privacy; the audit report in report_admin."""

from . import admin_privacy, report_admin  # noqa: F401 - registers their admin pages
