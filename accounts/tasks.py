"""Tasks for stores and accounts: thin wrappers that take ids and call one service."""

from celery import shared_task

from sync.clients.errors import TransientError

from .models import ShopifyStore


@shared_task(autoretry_for=(TransientError,), retry_backoff=True, max_retries=5)
def import_catalogue_task(store_id: int) -> str:
    from sync.catalogue import import_catalogue

    store = ShopifyStore.objects.get(pk=store_id)
    return str(import_catalogue(store=store))


@shared_task(ignore_result=True)
def reconcile_all_task() -> str:
    """Beat: read Amazon back, re-read Shopify, repair drift (sync/reconcile.py)."""
    from sync.reconcile import reconcile_all

    return str(reconcile_all())


@shared_task(autoretry_for=(TransientError,), retry_backoff=True, max_retries=5)
def connect_store_task(store_id: int) -> str:
    """A store was just connected: subscribe to its webhooks, then import its catalogue."""
    from sync.catalogue import import_catalogue
    from sync.webhooks import subscribe_webhooks

    store = ShopifyStore.objects.get(pk=store_id)
    topics = subscribe_webhooks(store=store)
    return f"subscribed {len(topics)} topic(s); {import_catalogue(store=store)}"


@shared_task(ignore_result=True)
def account_switches_changed_task(account_id: int) -> str:
    """Statuses follow the switches at once; turning a switch on sends what differs."""
    from selling_lists.models import Listing
    from sync.services import recompute_listings

    ids = list(Listing.objects.filter(amazon_account_id=account_id).values_list("pk", flat=True))
    return str(recompute_listings(listing_ids=ids, reason="stock_change"))
