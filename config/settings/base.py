"""Settings shared by every environment.

Everything that differs between a laptop and production is read from the environment
(django-environ); the per-environment modules only choose defaults and harden.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# Runtime state of the embedded default (SQLite file, file-system broker, private files).
VAR_DIR = Path(env("SALUS_VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.SalusAdminConfig",  # django.contrib.admin with the staff site (accounts.admin_site)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "simple_history",
    "django_celery_beat",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Salus: base layer
    "core",
    "accounts",
    "audit",
    "notifications",
    # Salus: domains
    "patients",
    "consent",
    "scheduling",
    "privacy",
    "careplans",
    "outreach",
    # Salus: the patient site
    "portal",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files come from the app at any DEBUG setting (the demo runs without DEBUG).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.PreferredLanguageMiddleware",
    "accounts.middleware.StaffMfaRequiredMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'salus.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions make a writer wait for the lock instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and Celery -----------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}}
    # The embedded default: a real Celery worker and beat on a file-system broker, no server.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # The exchange-to-queue bindings; kombu's default is ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu looks for new messages once a second by default, which paces a worker at a few
        # tasks a second; a tenth of a second costs one directory listing per look.
        "polling_interval": 0.1,
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Deliveries are idempotent (claimed by compare-and-set), so a task cut by a lost connection is
# safe to cancel and run again.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "outbox-dispatch": {
        "task": "notifications.tasks.outbox_dispatch",
        "schedule": env.float("SALUS_OUTBOX_DISPATCH_SECONDS", default=10.0),
    },
    "consents-expire-due": {"task": "consent.tasks.consents_expire_due", "schedule": 300.0},
    "audit-verify": {"task": "audit.tasks.audit_verify", "schedule": 3600.0},
    "worker-heartbeat": {
        "task": "notifications.tasks.worker_heartbeat",
        "schedule": 30.0,
    },
    "privacy-requests-dispatch": {"task": "privacy.tasks.privacy_requests_dispatch", "schedule": 60.0},
    # Daily: rules count in days, and a purge is batched so it never holds a lock for long.
    "retention-apply": {"task": "privacy.tasks.retention_apply", "schedule": 24 * 3600.0},
    # Reminders are rows with a due time; this sends the due ones (each once).
    "appointment-reminders": {"task": "scheduling.tasks.reminders_send_due", "schedule": 60.0},
}

# --- auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_ADAPTER = "accounts.adapters.SalusAccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
# allauth's limits: these two are set here; allauth's defaults stay for the others (sign-in
# attempts "login" 30/m/ip, re-authentication 10/m/user, password reset from the emailed key
# 20/m/ip, signup 20/m/ip although it is closed). "login_failed" also limits the TOTP step, per
# account. Tests switch limits off (config/settings/test.py) and on again where they test them.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Salus"
# MFA_TRUST_ENABLED stays off (allauth's default): a "trusted browser" skips the code step without
# recording it, and the session rule below would then refuse that staff session.
# Staff must enrol a TOTP authenticator, and pass it in each session, before they can work
# (forced on in production; accounts.mfa).
SALUS_MFA_REQUIRED_FOR_STAFF = env.bool("SALUS_MFA_REQUIRED_FOR_STAFF", default=False)

GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
ANONYMOUS_USER_NAME = None

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("it", _("Italian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- static, media, private files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
# Without `collectstatic` (the laptop, the tests), WhiteNoise finds files where the apps keep them;
# production serves the collected, hashed and compressed files instead.
WHITENOISE_USE_FINDERS = True
# Documents holding PHI (receipts, exports) live outside any public URL and are served only
# by authorization-checked views.
PRIVATE_STORAGE_ROOT = Path(env("SALUS_PRIVATE_STORAGE_ROOT", default=str(VAR_DIR / "private")))

# --- email and SMS --------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Salus <no-reply@salus.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SALUS_SMS_BACKEND = env("SALUS_SMS_BACKEND", default="notifications.sms.ConsoleSmsBackend")
SALUS_SMS_SENDER = env("SALUS_SMS_SENDER", default="Salus")
# Outbox delivery: how many times a message is tried, and how long a claim may last before
# another worker may take the row over (a crashed worker's claim).
SALUS_OUTBOX_MAX_ATTEMPTS = env.int("SALUS_OUTBOX_MAX_ATTEMPTS", default=8)
SALUS_OUTBOX_CLAIM_SECONDS = env.int("SALUS_OUTBOX_CLAIM_SECONDS", default=300)
# A delivery task claims and sends up to this many rows (emails over one connection), and a full
# batch publishes the next; the periodic dispatcher tops up to this many batches side by side.
SALUS_OUTBOX_BATCH_SIZE = env.int("SALUS_OUTBOX_BATCH_SIZE", default=100)
SALUS_OUTBOX_DISPATCH_MAX_BATCHES = env.int("SALUS_OUTBOX_DISPATCH_MAX_BATCHES", default=8)

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        # Django's session authentication, plus the staff second-factor rule of the staff pages.
        "config.api.StaffMfaSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.SalusPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"user": env("SALUS_API_RATE", default="6000/hour")},
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Salus API",
    "DESCRIPTION": "REST API of Salus, the open-source clinical CRM.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- security defaults (hardened further in production) -------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
    }
}

# --- logging: never PHI, only ids -----------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # PDF rendering reports every step at INFO (a line per font subset and per document):
        # noise in the worker's log and over the seed's progress bar; warnings still show.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

SIMPLE_HISTORY_HISTORY_ID_USE_UUID = False
SALUS_SITE_NAME = env("SALUS_SITE_NAME", default="Salus")
# The public address of the site, for links in emails (e.g. https://care.example-hospital.org).
SALUS_SITE_URL = env("SALUS_SITE_URL", default="http://127.0.0.1:8000")
SALUS_EXPORT_LINK_HOURS = env.int("SALUS_EXPORT_LINK_HOURS", default=72)
SALUS_PRIVACY_CLAIM_SECONDS = env.int("SALUS_PRIVACY_CLAIM_SECONDS", default=900)
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- scheduling ---------------------------------------------------------------------------------
# Reminders before each visit, in minutes (default: a day and an hour before).
SALUS_APPOINTMENT_REMINDER_MINUTES = env.list("SALUS_APPOINTMENT_REMINDER_MINUTES", cast=int, default=[1440, 60])
# The video-visit provider: rooms are <base>/<unguessable room name> (Jitsi Meet by default; a
# self-hosted Jitsi or any provider taking a room name in the path works the same way).
SALUS_VIDEO_BASE_URL = env("SALUS_VIDEO_BASE_URL", default="https://meet.jit.si")
SALUS_VIDEO_CLOSES_AFTER_MINUTES = env.int("SALUS_VIDEO_CLOSES_AFTER_MINUTES", default=60)
