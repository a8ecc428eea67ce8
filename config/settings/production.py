"""Production: every secret comes from the environment; the sandbox is off unless asked for."""

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from . import keys
from .base import *  # noqa: F403
from .base import MIDDLEWARE, SANDBOX_ENABLED, SECRET_KEY, STOCKLINK_ENCRYPTION_KEYS, env

if SANDBOX_ENABLED:
    # The sandbox hands out credentials and fakes vendors: never on a production deployment.
    raise ImproperlyConfigured("SANDBOX_ENABLED must be off with production settings.")

# The repository's dev keys are public: refuse them (and weak keys) before serving anything.
for _problem in (
    keys.secret_key_problem(SECRET_KEY),
    keys.encryption_keys_problem(STOCKLINK_ENCRYPTION_KEYS),
):
    if _problem:
        raise ImproperlyConfigured(_problem)

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
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
MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

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
