"""Settings of the Celery worker that the integration tier starts: the test settings, except that
email leaves over SMTP, to the SMTP server the test runs, instead of staying in memory."""

from config.settings.base import env
from config.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("SALUS_TEST_SMTP_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("SALUS_TEST_SMTP_PORT")
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""
EMAIL_USE_TLS = False
EMAIL_USE_SSL = False
EMAIL_TIMEOUT = 10
