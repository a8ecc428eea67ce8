"""Asking a worker to act soon, by task name.

Services queue follow-up work (send the pushes just written, confirm the ones just accepted,
poll a feed) without importing the task modules, which import the services: the tasks are
looked up by name in Celery's registry. `SyncConfig.ready()` imports `sync.tasks`, so every
name here is registered in every process. Queued on commit, so a worker never looks for rows
that are not there yet (and a rolled-back change queues nothing).
"""

from collections.abc import Iterable

from celery import current_app
from django.db import transaction

SEND_PUSHES = "sync.send_pending"
CONFIRM_PUSHES = "sync.confirm_pushes"
POLL_FEED = "sync.poll_feed"
PROCESS_WEBHOOK = "sync.process_webhook_event"
ACCOUNT_SWITCHES_CHANGED = "sync.account_switches_changed"


def enqueue_on_commit(name: str, *args, countdown: float | None = None) -> None:
    """Queue task `name` with `args` once the current transaction commits."""
    task = current_app.tasks[name]
    transaction.on_commit(lambda: task.apply_async(args=args, countdown=countdown))


def send_pushes_soon(account_ids: Iterable[int]) -> None:
    """Ask a worker to send these sellers' pending pushes."""
    for account_id in sorted(set(account_ids)):
        enqueue_on_commit(SEND_PUSHES, account_id)
