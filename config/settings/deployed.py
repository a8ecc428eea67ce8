"""What every deployed environment shares (production and staging): hardening, persistent
database connections, JSON logs. Not used on its own: pick production or staging.
"""

from csp.constants import NONE, SELF

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING, MIDDLEWARE, env

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Probes and the scraper talk plain HTTP to the container; a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Static files served by the app process itself (no separate web server needed for the admin).
MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

# Content Security Policy (django-csp): scripts, styles and requests only from this site. The
# admin and our templates use no inline script or style; anything injected would not run.
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "csp.middleware.CSPMiddleware"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# Database connections outlive a request: a new PostgreSQL connection costs more than the whole
# webhook view (docs/BENCHMARKS.md, "Webhook load"). CONN_HEALTH_CHECKS pings a reused
# connection once per request, so a restarted database costs one failed ping, not a 500.
# DJANGO_DB_POOL=true uses psycopg-pool instead (one pool per process; CONN_MAX_AGE is then 0).
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql" and env.bool("DJANGO_DB_POOL", default=False):
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DJANGO_DB_POOL_MIN", default=2),
        "max_size": env.int("DJANGO_DB_POOL_MAX", default=8),
        "timeout": 10,
    }
else:
    _db["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=600)
    _db["CONN_HEALTH_CHECKS"] = True

# One JSON object per line on stderr, for the log pipeline (DJANGO_LOG_FORMAT=text to read by eye).
LOGGING["handlers"]["console"]["formatter"] = env("DJANGO_LOG_FORMAT", default="json")
# Celery's workers and beat log through the same LOGGING instead of their own text format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
