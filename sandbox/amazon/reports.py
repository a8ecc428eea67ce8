"""Reports 2021-06-30: GET_MERCHANT_LISTINGS_ALL_DATA as Amazon's tab-separated flat file."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from .feeds import create_document
from .listings import apply_due_changes
from .models import Document, Listing, Report

MERCHANT_LISTINGS_ALL_DATA = "GET_MERCHANT_LISTINGS_ALL_DATA"
SUPPORTED_REPORT_TYPES = (MERCHANT_LISTINGS_ALL_DATA,)

# The header of Amazon's "All Listings Report" (Seller Central → Inventory Reports).
MERCHANT_LISTINGS_COLUMNS = (
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
)


def new_report_id() -> str:
    return str(50000000000 + secrets.randbelow(10**10))


def _clean(value: str) -> str:
    # A tab or newline inside a field would shift the columns of a flat file.
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def merchant_listings_tsv(seller, marketplace_ids: list[str]) -> bytes:
    """The flat file: one row per listing, quantity blank for FBA (Amazon reports it so)."""
    listings = Listing.objects.filter(seller=seller, marketplace_id__in=marketplace_ids)
    apply_due_changes(listings)
    lines = ["\t".join(MERCHANT_LISTINGS_COLUMNS)]
    rows = listings.order_by("sku").values_list(
        "item_name",
        "listing_id",
        "sku",
        "price",
        "quantity",
        "created_at",
        "asin",
        "fulfillment_channel_code",
    )
    for item_name, listing_id, sku, price, quantity, created_at, asin, channel in rows.iterator(
        chunk_size=5000
    ):
        fba = channel != "DEFAULT"
        row = {
            "item-name": _clean(item_name),
            "listing-id": listing_id,
            "seller-sku": _clean(sku),
            "price": f"{price}",
            "quantity": "" if fba else str(quantity),
            "open-date": created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "item-is-marketplace": "y",
            "product-id-type": "1",
            "item-condition": "11",
            "asin1": asin,
            "will-ship-internationally": "",
            "product-id": asin,
            "fulfillment-channel": channel,
            "merchant-shipping-group": "" if fba else "Migrated Template",
            "status": "Active" if fba or quantity > 0 else "Inactive",
        }
        lines.append("\t".join(row.get(column, "") for column in MERCHANT_LISTINGS_COLUMNS))
    return ("\n".join(lines) + "\n").encode("utf-8")


def refresh_report(report: Report) -> Report:
    """Produce the report on its first read (the sandbox has no queue for reports)."""
    if report.processing_status in (Report.Status.DONE, Report.Status.FATAL):
        return report
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.processing_status not in (Report.Status.DONE, Report.Status.FATAL):
            locked.processing_start_time = timezone.now()
            if locked.report_type in SUPPORTED_REPORT_TYPES:
                locked.document = create_document(
                    seller=locked.seller,
                    kind=Document.Kind.REPORT,
                    content_type="text/tab-separated-values; charset=UTF-8",
                    content=merchant_listings_tsv(locked.seller, locked.marketplace_ids),
                )
                locked.processing_status = Report.Status.DONE
            else:
                locked.processing_status = Report.Status.FATAL
            locked.processing_end_time = timezone.now()
            locked.save()
    report.refresh_from_db()
    return report
