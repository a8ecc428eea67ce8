"""Reads of the sync engine shared by the admin, the tasks and the tests."""

from collections.abc import Iterable
from dataclasses import dataclass

from selling_lists.models import FulfillmentChannel, Listing
from selling_lists.selectors import compute_results

from .models import QtyPush
from .services.outbox import sync_off_reason


@dataclass(frozen=True)
class PushPreview:
    """One row of the "Update Qty" confirmation page: what Amazon will be told."""

    listing: Listing
    before: int | None  # what Amazon was last told
    after: int | None  # the Result now (None: stock missing, left as it is)
    note: str  # why it will not be sent, or ""


def update_qty_preview(listing_ids: Iterable[int]) -> list[PushPreview]:
    """Before → after of each listing, in a constant number of queries."""
    listings = list(
        Listing.objects.filter(pk__in=list(listing_ids))
        .select_related("selling_list__profile", "amazon_account", "variant__product")
        .order_by("sku")
    )
    results = compute_results(listings)  # with the oversell guard's reserved quantities
    rows = []
    for listing in listings:
        _, result = results[listing.pk]
        if listing.fulfillment_channel == FulfillmentChannel.FBA:
            note = "FBA — managed by Amazon: not sent."
        elif off := sync_off_reason(listing):
            note = f"{off} Not sent."
        elif result.quantity is None:
            note = f"{result.trace[0]}: Amazon is left as it is."
        else:
            note = ""
        rows.append(PushPreview(listing, listing.last_sent_quantity, result.quantity, note))
    return rows


def push_history(listing_id: int, limit: int = 50):
    """The newest pushes of one listing, for its page."""
    return QtyPush.objects.filter(listing_id=listing_id).select_related("created_by", "feed")[
        :limit
    ]
