"""Production: every secret comes from the environment; the sandbox is off unless asked for."""

from django.core.exceptions import ImproperlyConfigured

from . import keys
from .deployed import *  # noqa: F403
from .deployed import SANDBOX_ENABLED, SECRET_KEY, STOCKLINK_ENCRYPTION_KEYS

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
