"""The embedded default: SQLite, the sandbox on, a filesystem Celery broker. For the demo."""

import os

from . import keys

# Fixed development keys; production refuses them and must set its own (see README).
os.environ.setdefault("DJANGO_SECRET_KEY", keys.DEV_SECRET_KEY)
os.environ.setdefault("STOCKLINK_ENCRYPTION_KEYS", keys.DEV_ENCRYPTION_KEY)
os.environ.setdefault("SANDBOX_ENABLED", "true")
os.environ.setdefault("DJANGO_DEBUG", "true")

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
