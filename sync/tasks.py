"""Celery tasks of the sync engine: thin, take ids, call one service, idempotent.

Beat (CELERY_BEAT_SCHEDULE in config/settings/base.py): `dispatch_due_work` every few
seconds queues sends whose back-off is over, read-backs that are due and feeds to poll, and
puts pushes of dead workers back to pending.
"""

from celery import shared_task

from .clients.errors import RateLimited, TransientError
from .jobs import tasks as _jobs  # noqa: F401  (registers run_job: autodiscovery imports this)
from .order_tasks import (  # noqa: F401  (registered here: autodiscovery imports sync.tasks)
    apply_pending_order_items_task,
    import_due_orders_task,
    import_orders_task,
)
from .services import pushes


@shared_task(bind=True, ignore_result=True, max_retries=8)
def process_webhook_event(self, event_id: int) -> None:
    """Re-read what a Shopify webhook says changed, mirror it, recompute, queue pushes."""
    from .webhooks import process_webhook_event as process

    try:
        process(event_pk=event_id)
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=max(exc.retry_after, 1.0)) from exc
    except TransientError as exc:
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc


@shared_task(ignore_result=True)
def send_pending(account_id: int) -> None:
    """Send one seller's due pending pushes. Throttled pushes go back to pending with a
    back-off inside the service (nothing lost); the beat sends them when it is over."""
    pushes.send_pending_pushes(account_id=account_id)


@shared_task(ignore_result=True)
def confirm_pushes(account_id: int) -> None:
    """Read back one seller's ACCEPTED pushes that are due; unconfirmed ones wait for the beat."""
    pushes.confirm_pushes(account_id=account_id)


@shared_task(ignore_result=True)
def poll_feed(feed_pk: int) -> None:
    """Poll one feed; when DONE its report is applied. Still running, throttled or a 5xx: the
    service sets the next poll and the beat comes back to it."""
    pushes.poll_feed(feed_pk=feed_pk)


@shared_task(ignore_result=True)
def dispatch_due_work() -> dict:
    """Beat entry: queue what is due now (sends after back-off, read-backs, feed polls, and
    webhook events that were stored but never processed)."""
    from .webhooks import stranded_events

    pushes.release_stale_claims()
    for event_pk in stranded_events():
        process_webhook_event.delay(event_pk)
    due = pushes.due_work()
    for account_id in due.send:
        send_pending.delay(account_id)
    for account_id in due.confirm:
        confirm_pushes.delay(account_id)
    for feed_pk in due.feeds:
        poll_feed.delay(feed_pk)
    return {"send": len(due.send), "confirm": len(due.confirm), "feeds": len(due.feeds)}
