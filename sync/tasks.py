"""Celery tasks of the sync engine: thin, take ids, call one service, idempotent.

Beat (CELERY_BEAT_SCHEDULE in config/settings/base.py): `dispatch_due_work` every few
seconds queues sends whose back-off is over, read-backs that are due and feeds to poll, and
puts pushes of dead workers back to pending; `reconcile_run` is the hourly safety net;
`flush_webhook_rejections_task` moves refused-webhook counts from Redis to the database.
Task names are explicit (`sync.<verb>`): services queue some of them by name (sync/queues.py),
and the worker queues in production are routed by them.
"""

from celery import shared_task

from accounts.models import ShopifyStore
from selling_lists.models import Listing

from . import queues
from .clients.errors import RateLimited, TransientError
from .inbound.catalogue import catalogue_import
from .inbound.events import stranded_events, webhook_events_drain
from .inbound.events import webhook_event_process as process_event
from .inbound.refresh import metafield_stores, metafields_refresh
from .inbound.webhooks import FLUSH_REJECTIONS, webhook_rejections_flush, webhooks_subscribe
from .jobs.tasks import run_job
from .models import PushReason
from .orders.tasks import (
    apply_pending_order_items_task,
    import_due_orders_task,
    import_orders_task,
)
from .outbound import claims, confirm, dispatch, feeds, send
from .outbox import actions
from .outbox.recompute import listings_recompute
from .reconcile import reconcile_run

# Imported so that the worker (which autodiscovers `sync.tasks`) registers them too.
__all__ = [
    "apply_pending_order_items_task",
    "import_due_orders_task",
    "import_orders_task",
    "run_job",
]


@shared_task(name=queues.DRAIN_WEBHOOKS, ignore_result=True)
def drain_webhook_events_task(store_id: int) -> str:
    """Process the store's stored webhook events not processed yet: queued by a delivery when
    no drain of the store is on its way (sync/inbound/wakeup.py), not once per delivery."""
    return str(webhook_events_drain(store_id=store_id))


@shared_task(name=queues.PROCESS_WEBHOOK, bind=True, ignore_result=True, max_retries=8)
def process_webhook_event_task(self, event_id: int) -> None:
    """Re-read what a Shopify webhook says changed, mirror it, recompute, queue pushes. Beat's
    sweep of stranded events queues it (and messages queued before the drain still run)."""
    try:
        process_event(event_pk=event_id)
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=max(exc.retry_after, 1.0)) from exc
    except TransientError as exc:
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc


@shared_task(name=queues.HOLD_RULE_CHANGE, ignore_result=True)
def hold_rule_change_task(scope: str, pk: int) -> str:
    """A profile or Selling List was saved: its listings' states show what confirming sends."""
    summary = actions.listings_hold_rule_change(listing_ids=actions.listings_governed_by(scope, pk))
    return f"{summary.listings} listings recomputed, {summary.held} held until confirmed"


@shared_task(name=queues.SEND_PUSHES, ignore_result=True)
def send_pending(account_id: int) -> None:
    """Send one seller's due pending pushes. Throttled pushes go back to pending with a
    back-off inside the service (nothing lost); the beat sends them when it is over."""
    send.pushes_send(account_id=account_id)


@shared_task(name=queues.CONFIRM_PUSHES, ignore_result=True)
def confirm_pushes_task(account_id: int) -> None:
    """Read back one seller's ACCEPTED pushes that are due; unconfirmed ones wait for the beat."""
    confirm.pushes_confirm(account_id=account_id)


@shared_task(name=queues.POLL_FEED, ignore_result=True)
def poll_feed_task(feed_pk: int) -> None:
    """Poll one feed; when DONE its report is applied. Still running, throttled or a 5xx: the
    service sets the next poll and the beat comes back to it."""
    feeds.feed_poll(feed_pk=feed_pk)


@shared_task(name="sync.dispatch_due_work", ignore_result=True)
def dispatch_due_work() -> dict:
    """Beat entry: queue what is due now (sends after back-off, read-backs, feed polls, and
    webhook events that were stored but never processed)."""
    claims.pushes_release_stale()
    for event_pk in stranded_events():
        process_webhook_event_task.delay(event_pk)
    due = dispatch.due_work()
    for account_id in due.send:
        send_pending.delay(account_id)
    for account_id in due.confirm:
        confirm_pushes_task.delay(account_id)
    for feed_pk in due.feeds:
        poll_feed_task.delay(feed_pk)
    return {"send": len(due.send), "confirm": len(due.confirm), "feeds": len(due.feeds)}


@shared_task(name="sync.import_catalogue", autoretry_for=(TransientError,), retry_backoff=True)
def import_catalogue_task(store_id: int) -> str:
    """Read one store's whole catalogue into the mirror and recompute what it feeds."""
    return str(catalogue_import(store=ShopifyStore.objects.get(pk=store_id)))


@shared_task(name="sync.reconcile_all", ignore_result=True)
def reconcile_all_task() -> str:
    """Beat: read Amazon back, re-read Shopify, repair drift (sync/reconcile.py)."""
    return str(reconcile_run())


@shared_task(
    name="sync.connect_store", autoretry_for=(TransientError,), retry_backoff=True, max_retries=5
)
def connect_store_task(store_id: int) -> str:
    """A store was just connected: subscribe to its webhooks, then import its catalogue."""
    store = ShopifyStore.objects.get(pk=store_id)
    topics = webhooks_subscribe(store=store)
    return f"subscribed {len(topics)} topic(s); {catalogue_import(store=store)}"


@shared_task(name=queues.ACCOUNT_SWITCHES_CHANGED, ignore_result=True)
def account_switches_changed_task(account_id: int) -> str:
    """Statuses follow the switches at once; turning a switch on sends what differs."""
    ids = list(Listing.objects.filter(amazon_account_id=account_id).values_list("pk", flat=True))
    return str(listings_recompute(listing_ids=ids, reason=PushReason.SYNC_ON))


@shared_task(name=FLUSH_REJECTIONS, ignore_result=True)
def flush_webhook_rejections_task() -> int:
    """Add the refused-webhook counts gathered in Redis to the admin's table. Queued a few
    seconds after a first refusal, and by beat every minute in case one was lost."""
    return webhook_rejections_flush()


@shared_task(name="sync.refresh_metafields", ignore_result=True)
def refresh_metafields_task() -> str:
    """Beat (SYNC_METAFIELD_REFRESH_SECONDS): re-read metafield-sourced stock of every store
    that needs it; Shopify sends no webhook for a metafield edit."""
    done = []
    for store in ShopifyStore.objects.filter(pk__in=metafield_stores()):
        try:
            done.append(str(metafields_refresh(store=store)))
        except TransientError:
            done.append(f"{store}: Shopify is not answering; next run tries again")
    return "; ".join(done)
