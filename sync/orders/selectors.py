"""Reads of the order ledger shared by the sync engine and the admin."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q, Sum

from accounts.bulk import column_in
from selling_lists.models import Listing

from .models import AmazonOrderItem, OrderStockEntry

Entry = OrderStockEntry
State = OrderStockEntry.State
Action = OrderStockEntry.Action


def reserved_by_variant(variant_ids: Iterable[int]) -> dict[int, int]:
    """Units sold on Amazon whose Shopify decrement has not been applied yet, per variant.

    The oversell guard: the quantity rule subtracts these from Shopify's stock, so a Shopify
    stock event between a sale's import and its decrement cannot send the old, higher number.
    Failed entries still count (the units are sold; Shopify has not been told).
    """
    ids = set(variant_ids)
    if not ids:
        return {}
    rows = (
        Entry.objects.filter(
            column_in(Entry, "variant_id", ids),
            action=Action.DECREMENT,
            state__in=[State.PENDING, State.FAILED],
        )
        .values("variant_id")
        .annotate(units=Sum("quantity"))
        .values_list("variant_id", "units")
    )
    return {variant_id: units for variant_id, units in rows if units}


def unmatched_items_for_listings(listing_ids: Iterable[int]):
    """Order items that are unmatched but carry the SKU of one of these listings."""
    skus: dict[tuple[int, str], set[str]] = defaultdict(set)
    for account_id, marketplace_id, sku in Listing.objects.filter(
        pk__in=list(listing_ids)
    ).values_list("amazon_account_id", "marketplace_id", "sku"):
        skus[account_id, marketplace_id].add(sku)
    query = Q(pk__in=[])
    # One condition per account and marketplace, not per listing: linking 100k SKUs stays cheap.
    for (account_id, marketplace_id), group in skus.items():
        query |= Q(
            order__account_id=account_id, order__marketplace_id=marketplace_id, sku__in=group
        )
    return AmazonOrderItem.objects.filter(query, listing__isnull=True)
