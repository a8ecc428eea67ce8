"""Test settings: the dev defaults, fast hashing, Celery eager unless a test starts real workers."""

import os

os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from .dev import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# The sandbox answers from a live server on a shared, loaded machine: a person's 10 s bound
# (tested on its own in tests/sync/test_connections.py) would time out its slow moments.
SYNC_INTERACTIVE_TIMEOUT = 60.0
# Each test process keeps its own cache (the beat heartbeat); real worker processes use Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
