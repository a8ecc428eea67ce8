"""Waking the worker for stored webhook events: one drain per store at a time, not a task per event.

    drain_soon(store_id)  after a handled event's row is committed: publish a drain of the
                          store unless one is queued or running (one Redis SET NX, no publish)
    DrainFlag(store_id)   the store's "a drain is on its way" flag, held and released by it

The stored `WebhookEvent` row is the durable record; the drain (`events.webhook_events_drain`)
processes every unprocessed row of its store (stores drain in parallel, each one at a time). A
Celery publish costs several times the rest of the webhook's work (docs/BENCHMARKS.md, "Webhook
load"), so with Redis a delivery only publishes when it sets its store's flag. Nothing is lost
to the race between a delivery and a drain finishing: the delivery commits its row before it
tries the flag, and the drain deletes the flag before its last look for rows, so a delivery
that found the flag set is seen by that last look. The flag expires on its own (a killed
drain), and beat's `stranded_events` sweep stays the net.
Without Redis (the embedded default) every delivery publishes, as before.
"""

from __future__ import annotations

import contextlib
import logging
from functools import cache

import redis
from celery import current_app
from django.db import connection, transaction

from .. import conf, queues

logger = logging.getLogger(__name__)

# Longer than a drain's work between two refreshes; after a killed drain, deliveries publish
# again this much later (and beat's sweep processes what came in between).
FLAG_TTL_MS = 30_000


@cache
def redis_client(url: str) -> redis.Redis:
    """One client (and connection pool) per process and URL, shared by the request threads: the
    drain flags here and the rejection counters (webhooks.py)."""
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


class DrainFlag:
    """A store's flag in Redis, per database (tests share a Redis); inert without Redis."""

    def __init__(self, store_id: int) -> None:
        url = conf.redis_url()
        self.store_id = store_id
        self.client = redis_client(url) if url else None
        base = f"stocklink:{connection.settings_dict['NAME']}:webhooks"
        self.key = f"{base}:drain-queued:{store_id}"

    def take(self) -> bool:
        """Set the flag if nobody holds it; True when this caller now owns the next drain."""
        if self.client is None:
            return True
        return bool(self.client.set(self.key, "1", nx=True, px=FLAG_TTL_MS))

    def hold(self) -> None:
        """A running drain keeps the flag alive (and sets it again if it had expired)."""
        if self.client is not None:
            self.client.set(self.key, "1", px=FLAG_TTL_MS)

    def release(self) -> None:
        if self.client is not None:
            self.client.delete(self.key)


def drain_soon(store_id: int) -> None:
    """Ask for a drain of the store's events once the current transaction commits (at once in
    autocommit)."""
    transaction.on_commit(lambda: _wake(store_id))


def _wake(store_id: int) -> None:
    flag = DrainFlag(store_id)
    try:
        if not flag.take():
            return  # a drain is queued or running, and looks again after releasing the flag
    except redis.RedisError:
        logger.warning("Redis refused the webhook drain flag; publishing a drain anyway")
    publish_drain(flag)


def publish_drain(flag: DrainFlag, *, countdown: float | None = None) -> None:
    """Publish a drain for a caller that holds the flag; on failure, let the next one try."""
    try:
        current_app.tasks[queues.DRAIN_WEBHOOKS].apply_async(
            args=(flag.store_id,), countdown=countdown
        )
    except Exception:  # the broker is down: the row is stored, beat's sweep processes it
        logger.warning("Could not queue %s", queues.DRAIN_WEBHOOKS, exc_info=True)
        with contextlib.suppress(redis.RedisError):  # else it expires on its own
            flag.release()
