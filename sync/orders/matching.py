"""Order items sold before their SKU was linked: matched to their listing later, on request."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from selling_lists.models import Listing

from .intake import ensure_entries, recompute_for_orders
from .models import AmazonOrder, AmazonOrderItem
from .selectors import unmatched_items_for_listings

logger = logging.getLogger(__name__)


@dataclass
class MatchSummary:
    matched: int = 0
    still_unmatched: int = 0
    entry_ids: list[int] = field(default_factory=list)
    variant_ids: set[int] = field(default_factory=set)


def order_items_match_unmatched(
    *,
    order_ids: Iterable[int] | None = None,
    listing_ids: Iterable[int] | None = None,
    acting_user=None,
) -> MatchSummary:
    """Link unmatched order items to listings that now carry their SKU, and queue their sale.

    Choose the items by their orders (`order_ids`) or by the listings just linked
    (`listing_ids`). A matched item of a live FBM order that syncs stock gets its decrement;
    call `order_entries_apply_pending` (or the admin action does) to write it to Shopify.
    """
    if listing_ids is not None:
        items = unmatched_items_for_listings(listing_ids)
    else:
        items = AmazonOrderItem.objects.filter(listing__isnull=True)
        if order_ids is not None:
            items = items.filter(order_id__in=list(order_ids))
    summary = MatchSummary()
    for item in items.select_related("order__account"):
        with transaction.atomic():
            order = AmazonOrder.objects.select_for_update().get(pk=item.order_id)
            item.refresh_from_db()
            if item.listing_id is not None:
                continue
            listing = (
                Listing.objects.filter(
                    amazon_account_id=order.account_id,
                    marketplace_id=order.marketplace_id,
                    sku=item.sku,
                )
                .select_related("selling_list__profile", "variant")
                .first()
            )
            if listing is None or not item.sku:
                summary.still_unmatched += 1
                continue
            item.listing = listing
            item.save(update_fields=["listing"])
            summary.matched += 1
            if order.syncs_stock:
                ensure_entries(order, item, summary)
    if summary.matched:
        logger.info(
            "%s matched %d unmatched order item(s)", acting_user or "Stocklink", summary.matched
        )
    recompute_for_orders(variant_ids=summary.variant_ids)
    return summary
