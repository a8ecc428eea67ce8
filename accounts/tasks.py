"""Tasks for stores and accounts: thin wrappers that take ids and call one service."""

from celery import shared_task

from .models import ShopifyStore


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def import_catalogue_task(store_id: int) -> str:
    from sync.catalogue import import_catalogue

    store = ShopifyStore.objects.get(pk=store_id)
    return str(import_catalogue(store=store))
