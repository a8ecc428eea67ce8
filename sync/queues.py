"""Asking a worker to act soon, by task name.

Services queue follow-up work (send the pushes just written, confirm the ones just accepted,
poll a feed) without importing the task modules, which import the services: the tasks are
looked up by name in Celery's registry. `SyncConfig.ready()` imports `sync.tasks`, so every
name here is registered in every process. Queued on commit, so a worker never looks for rows
that are not there yet (and a rolled-back change queues nothing).

`queue_depths()` says how many messages wait in each queue, for the home page.
"""

from collections.abc import Iterable

import redis
from celery import current_app
from django.conf import settings
from django.db import transaction

SEND_PUSHES = "sync.send_pending"
CONFIRM_PUSHES = "sync.confirm_pushes"
POLL_FEED = "sync.poll_feed"
PROCESS_WEBHOOK = "sync.process_webhook_event"
DRAIN_WEBHOOKS = "sync.drain_webhook_events"
ACCOUNT_SWITCHES_CHANGED = "sync.account_switches_changed"
HOLD_RULE_CHANGE = "sync.hold_rule_change"


def enqueue_on_commit(name: str, *args, countdown: float | None = None) -> None:
    """Queue task `name` with `args` once the current transaction commits."""
    task = current_app.tasks[name]
    transaction.on_commit(lambda: task.apply_async(args=args, countdown=countdown))


def send_pushes_soon(account_ids: Iterable[int]) -> None:
    """Ask a worker to send these sellers' pending pushes."""
    for account_id in sorted(set(account_ids)):
        enqueue_on_commit(SEND_PUSHES, account_id)


# Kombu's Redis transport keeps a queue as one list per priority step (0, 3, 6, 9); a message
# sent with priority n > 0 waits in "<queue>\x06\x16<n>".
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_depths(broker_url: str | None = None) -> dict[str, int] | None:
    """Messages waiting in each of our queues (LLEN on a Redis broker), or None when the
    broker cannot be measured (the embedded filesystem broker) or does not answer."""
    url = settings.CELERY_BROKER_URL if broker_url is None else broker_url
    if not url.startswith(("redis://", "rediss://")):
        return None
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in settings.STOCKLINK_QUEUES:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = iter(pipe.execute())
    except redis.RedisError:
        return None
    finally:
        client.close()
    return {
        queue: sum(next(lengths) for _ in _PRIORITY_SUFFIXES) for queue in settings.STOCKLINK_QUEUES
    }
