"""Reconcile: webhooks are not enough on their own (dropped, delayed, metafield edits).

Periodically read Amazon's quantities back (one listings report per account and marketplace)
and re-read the Shopify catalogue; every listing is then recomputed with reason "reconcile",
which compares the Result with what Amazon shows and queues a push where they drift apart.
"""

from dataclasses import dataclass, field

from accounts.models import AmazonAccount, ShopifyStore
from selling_lists.models import FulfillmentChannel, Listing

from .clients.errors import MarketplaceError
from .clients.factory import amazon_client
from .inbound.catalogue import catalogue_import
from .linking import amazon_listings_by_sku
from .models import PushReason


@dataclass
class ReconcileSummary:
    read_back: int = 0
    drifted: int = 0
    variants: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self):
        text = (
            f"read back {self.read_back} Amazon quantities ({self.drifted} differed from "
            f"what we sent), re-read {self.variants} Shopify variants"
        )
        return text + (f"; errors: {'; '.join(self.errors)}" if self.errors else "")


def amazon_quantities_read_back(*, account: AmazonAccount, marketplace_id: str) -> tuple[int, int]:
    """Store the quantity Amazon shows on every FBM listing; returns (read, drifted).

    Drifted: Amazon shows another number than the Result we computed for the listing.
    """
    client = amazon_client(account, marketplace_id)
    try:
        rows = amazon_listings_by_sku(client)
    finally:
        client.close()
    listings = list(
        Listing.objects.filter(
            amazon_account=account,
            marketplace_id=marketplace_id,
            fulfillment_channel=FulfillmentChannel.FBM,
        ).only("pk", "sku", "amazon_quantity", "last_sent_quantity", "computed_quantity")
    )
    changed, drifted = [], 0
    for listing in listings:
        row = rows.get(listing.sku)
        if row is None or row.quantity is None:
            continue
        if listing.computed_quantity is not None and row.quantity != listing.computed_quantity:
            drifted += 1
        if row.quantity != listing.amazon_quantity:
            listing.amazon_quantity = row.quantity
            changed.append(listing)
    Listing.objects.bulk_update(changed, ["amazon_quantity"], batch_size=1000)
    return len(listings), drifted


def reconcile_run() -> ReconcileSummary:
    """Read Amazon back for every account and marketplace, then re-read every Shopify store."""
    summary = ReconcileSummary()
    for account in AmazonAccount.objects.filter(inventory_sync_enabled=True):
        for marketplace_id in account.marketplaces.values_list("pk", flat=True):
            try:
                read, drifted = amazon_quantities_read_back(
                    account=account, marketplace_id=marketplace_id
                )
            except MarketplaceError as error:
                summary.errors.append(f"{account} ({marketplace_id}): {error.message}")
                continue
            summary.read_back += read
            summary.drifted += drifted
    for store in ShopifyStore.objects.all():
        try:
            summary.variants += catalogue_import(store=store, reason=PushReason.RECONCILE).variants
        except MarketplaceError as error:
            summary.errors.append(f"{store}: {error.message}")
    return summary
