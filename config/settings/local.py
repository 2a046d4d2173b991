"""The embedded default: one laptop, SQLite, a file-system Celery broker, console email."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, VAR_DIR, env

# Off by default even on a laptop: patients and staff get the site's own error pages, never
# Django's debug page with its list of URLs (DJANGO_DEBUG=true for development).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
WHITENOISE_AUTOREFRESH = DEBUG
# Static files are served from where the apps keep them (WHITENOISE_USE_FINDERS); nothing is
# collected here.
STATIC_ROOT = None
SECRET_KEY = SECRET_KEY or "local-only-not-secret-0f7c2b9e6d6a4e0c9d7f"
for sub in ("broker/queue", "broker/processed", "broker/control", "cache", "private"):
    (VAR_DIR / sub).mkdir(parents=True, exist_ok=True)
