"""Celery tasks for Amazon orders: thin wrappers that take ids and call one service each.

Beat (see docs/orders.md): `import_due_orders_task` every 5 minutes; it queues
`import_orders_task` only for accounts whose searchOrders budget allows it.
"""

from celery import shared_task
from django.utils import timezone

from accounts.models import AmazonAccount

from ..clients.errors import RateLimited, TransientError
from .apply import order_entries_apply_pending
from .intake import orders_import, orders_import_due


@shared_task(name="sync.import_orders", bind=True, ignore_result=True, max_retries=5)
def import_orders_task(self, account_id: int) -> None:
    """Import one account's orders, then write their pending stock changes to Shopify."""
    account = AmazonAccount.objects.filter(pk=account_id).first()
    if account is None:
        return
    try:
        orders_import(account=account)
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=max(exc.retry_after, 1.0)) from exc
    except TransientError as exc:
        raise self.retry(exc=exc, countdown=30 * (self.request.retries + 1)) from exc
    apply_pending_order_items_task.delay_on_commit(account_id)


@shared_task(name="sync.apply_pending_order_items", bind=True, ignore_result=True, max_retries=10)
def apply_pending_order_items_task(self, account_id: int) -> None:
    """Write one account's pending ledger entries to Shopify (retried when Shopify throttles)."""
    account = AmazonAccount.objects.filter(pk=account_id).first()
    if account is None:
        return
    try:
        order_entries_apply_pending(account=account)
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=max(exc.retry_after, 1.0)) from exc


@shared_task(name="sync.import_due_orders", ignore_result=True)
def import_due_orders_task() -> int:
    """Beat entry: queue an import for every account that is due; returns how many."""
    now = timezone.now()
    queued = 0
    for account in AmazonAccount.objects.prefetch_related("marketplaces"):
        marketplaces = len(account.marketplaces.all())
        if marketplaces and orders_import_due(account, now, marketplaces):
            import_orders_task.delay_on_commit(account.pk)
            queued += 1
    return queued
