"""Production: every secret comes from the environment; the sandbox is off unless asked for."""

from django.core.exceptions import ImproperlyConfigured

from .deployed import *  # noqa: F403
from .deployed import SANDBOX_ENABLED

if SANDBOX_ENABLED:
    # The sandbox hands out credentials and fakes vendors: never on a production deployment.
    raise ImproperlyConfigured("SANDBOX_ENABLED must be off with production settings.")
