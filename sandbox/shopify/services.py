"""Helpers to change the sandbox's stock from code (tests, demos), firing webhooks as Shopify.

Each goes through `InventoryLevel.save()`, so `inventory_levels/update` fires for every
subscription of the shop once the transaction commits.
"""

from django.db import transaction
from django.utils import timezone

from .models import InventoryLevel, Location, Shop


def level_for(*, shop: Shop | str, sku: str, location: Location | str | None = None):
    """The inventory level of the (first) variant with `sku` at `location` (default: first)."""
    levels = InventoryLevel.objects.select_related("variant", "location").filter(variant__sku=sku)
    levels = (
        levels.filter(variant__shop__domain=shop)
        if isinstance(shop, str)
        else levels.filter(variant__shop=shop)
    )
    if isinstance(location, Location):
        levels = levels.filter(location=location)
    elif isinstance(location, str):
        levels = levels.filter(location__name=location)
    return levels.order_by("variant_id", "location_id").first()


@transaction.atomic
def set_available(*, level: InventoryLevel, quantity: int) -> InventoryLevel:
    """Set `available` at one level (as a merchant editing stock in Shopify's admin)."""
    level = InventoryLevel.objects.select_for_update().select_related("variant").get(pk=level.pk)
    if level.available == quantity:
        return level
    level.available = quantity
    level.updated_at = timezone.now()
    level.save()
    return level


@transaction.atomic
def adjust_available(*, level: InventoryLevel, delta: int) -> InventoryLevel:
    """Add `delta` to `available` at one level (an order, a return, a recount)."""
    level = InventoryLevel.objects.select_for_update().select_related("variant").get(pk=level.pk)
    if not delta:
        return level
    level.available += delta
    level.updated_at = timezone.now()
    level.save()
    return level
