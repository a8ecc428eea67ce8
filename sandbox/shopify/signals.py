"""Model signals that make any stock or catalogue change fire Shopify's webhooks.

Whatever writes the change — an API mutation, the sandbox admin, a test helper — goes through
`save()`, so the webhook fires exactly as Shopify's would. Bulk inserts (the seed) fire nothing.
"""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from . import webhooks
from .models import InventoryLevel, Location, Metafield, Product, Variant


def _changed(instance, field: str) -> bool:
    loaded = getattr(instance, "_loaded", {})
    return field in loaded and loaded[field] != getattr(instance, field)


def _remember(instance, *fields):
    instance._loaded = {field: getattr(instance, field) for field in fields}


@receiver(pre_save, sender=InventoryLevel)
def _level_touch(sender, instance: InventoryLevel, raw=False, **kwargs):
    loaded = getattr(instance, "_loaded_available", None)
    if instance.pk and loaded is not None and loaded != instance.available:
        instance.updated_at = timezone.now()


@receiver(post_save, sender=InventoryLevel)
def _level_saved(sender, instance: InventoryLevel, created, raw=False, **kwargs):
    if raw:
        return
    loaded = getattr(instance, "_loaded_available", None)
    if not created and loaded == instance.available:
        return
    instance._loaded_available = instance.available
    # The variant's updatedAt moves with its stock, so `updated_at:>` queries find it.
    Variant.objects.filter(pk=instance.variant_id).update(updated_at=instance.updated_at)
    variant = instance.variant
    webhooks.emit(variant.shop_id, "INVENTORY_LEVELS_UPDATE", "InventoryLevel", instance)


@receiver(pre_save, sender=Metafield)
def _metafield_touch(sender, instance: Metafield, raw=False, **kwargs):
    if instance.pk and _changed(instance, "value"):
        instance.updated_at = timezone.now()


@receiver(post_save, sender=Metafield)
def _metafield_saved(sender, instance: Metafield, created, raw=False, **kwargs):
    if raw:
        return
    if created or _changed(instance, "value"):
        # Its variant's updatedAt moves with it, so `updated_at:>` queries find the edit. No
        # webhook: Shopify sends none for a metafield-only edit (docs/convergence.md).
        Variant.objects.filter(pk=instance.variant_id).update(updated_at=instance.updated_at)
    _remember(instance, "value")


@receiver(post_save, sender=Variant)
def _variant_saved(sender, instance: Variant, created, raw=False, **kwargs):
    if raw:
        return
    if not created and (_changed(instance, "tracked") or _changed(instance, "sku")):
        webhooks.emit(instance.shop_id, "INVENTORY_ITEMS_UPDATE", "InventoryItem", instance)
    _remember(instance, "tracked", "sku")
    webhooks.emit(instance.shop_id, "PRODUCTS_UPDATE", "Product", instance.product)


@receiver(post_save, sender=Product)
def _product_saved(sender, instance: Product, created, raw=False, **kwargs):
    if raw or created:
        return
    webhooks.emit(instance.shop_id, "PRODUCTS_UPDATE", "Product", instance)


@receiver(post_save, sender=Location)
def _location_saved(sender, instance: Location, created, raw=False, **kwargs):
    if raw:
        return
    if created:
        webhooks.emit(instance.shop_id, "LOCATIONS_CREATE", "Location", instance)
    else:
        webhooks.emit(instance.shop_id, "LOCATIONS_UPDATE", "Location", instance)
        if _changed(instance, "is_active"):
            topic = "LOCATIONS_ACTIVATE" if instance.is_active else "LOCATIONS_DEACTIVATE"
            webhooks.emit(instance.shop_id, topic, "Location", instance)
    _remember(instance, "is_active")


@receiver(post_delete, sender=Location)
def _location_deleted(sender, instance: Location, origin=None, **kwargs):
    # A location deleted along with its shop has nobody left to notify.
    if isinstance(origin, Location) or getattr(origin, "model", None) is Location:
        webhooks.emit(instance.shop_id, "LOCATIONS_DELETE", "Location", instance)
