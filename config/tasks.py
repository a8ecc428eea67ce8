"""Celery tasks of the deployment itself (not of any app): the beat heartbeat.

Beat queues `stocklink.beat_heartbeat` every 15 s (CELERY_BEAT_SCHEDULE); a worker on the pushes
queue records the time in the shared cache. /health/ (config/health.py) reports beat as stale
when the last record is older than STOCKLINK_BEAT_STALE_SECONDS: beat is down, the broker lost
the message, or the pushes queue is backed up — each worth a page.
"""

import time

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_KEY = "beat:heartbeat"


@shared_task(name="stocklink.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def last_heartbeat() -> float | None:
    """When a worker last ran the beat heartbeat (a Unix time), or None if never."""
    return cache.get(HEARTBEAT_KEY)
