"""The embedded default: SQLite, the sandbox on, a filesystem Celery broker. For the demo."""

import os

os.environ.setdefault(
    "DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789"
)
# A fixed development key; production must set its own (see README).
os.environ.setdefault("STOCKLINK_ENCRYPTION_KEYS", "ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzJieXRlcyE=")
os.environ.setdefault("SANDBOX_ENABLED", "true")
os.environ.setdefault("DJANGO_DEBUG", "true")

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
