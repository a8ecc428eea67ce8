"""Where an FBM sale's units are taken from in Shopify (docs/orders.md, the location rule)."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import InventoryLevel, Location
from selling_lists.models import Listing

from .models import OrderStockEntry

State = OrderStockEntry.State


# --- the location rule -------------------------------------------------------------------------


@dataclass(frozen=True)
class StockTarget:
    """Where an order item's units are taken from, or why that cannot be decided."""

    location: Location | None = None
    problem: str = ""
    untracked: bool = False


def stock_target(listing: Listing) -> StockTarget:
    """The Shopify location an FBM sale of this listing is taken from (docs/orders.md).

    The listing's profile with "Use Warehouse" and exactly one chosen location → that location.
    Otherwise (several chosen, or all active locations) → the store's default location when it
    is counted and stocks the variant, else the counted location with the most available stock
    (ties: the lowest Shopify location id), so the choice is deterministic.
    """
    variant = listing.variant
    if variant is None:
        return StockTarget(problem="the listing has no Shopify variant")
    if not variant.tracked:
        return StockTarget(
            problem="Shopify does not track inventory for this variant", untracked=True
        )
    store = variant.store
    profile = listing.selling_list.profile
    active = {loc.pk: loc for loc in Location.objects.filter(store=store, is_active=True)}
    if profile.use_warehouse:
        chosen = set(profile.locations.values_list("pk", flat=True))
        counted = {pk: loc for pk, loc in active.items() if pk in chosen}
        where = "the profile's chosen location(s)"
    else:
        counted = active
        where = "any active location"
    levels = dict(
        InventoryLevel.objects.filter(variant=variant, location_id__in=counted).values_list(
            "location_id", "available"
        )
    )
    stocked = [counted[pk] for pk in levels]
    if not stocked:
        return StockTarget(problem=f"the variant is not stocked at {where}")
    if profile.use_warehouse and len(counted) == 1:
        return StockTarget(location=stocked[0])
    if store.default_location_id in levels:
        return StockTarget(location=counted[store.default_location_id])
    best = max(stocked, key=lambda loc: (levels[loc.pk], -loc.shopify_id))
    return StockTarget(location=best)


def place_entry(entry: OrderStockEntry, listing: Listing) -> None:
    """Fill in where the entry takes stock from, or why it cannot (failed / not needed)."""
    target = stock_target(listing)
    if target.location is not None:
        entry.location = target.location
        entry.shopify_location_id = target.location.shopify_id
        entry.inventory_item_id = listing.variant.inventory_item_id
        entry.variant = listing.variant
        entry.error = ""
        return
    if target.untracked:
        entry.state = State.SKIPPED
        entry.note = target.problem[:255]
    else:
        entry.state = State.FAILED
        entry.error = f"No Shopify location to take the sale from: {target.problem}."
