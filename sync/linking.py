"""Link Shopify variants to Amazon SKUs (by equal SKU or a CSV), reading what Amazon holds."""

import csv
import io
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import ngettext

from selling_lists.models import FulfillmentChannel, Listing, ListingStatus, SellingList

from .clients.errors import MarketplaceError
from .clients.factory import amazon_client
from .clients.protocols import AmazonApi
from .models import PushReason
from .outbox.recompute import listings_recompute

REPORT_POLL_SECONDS = 2.0
REPORT_POLL_ATTEMPTS = 60


@dataclass
class LinkSummary:
    linked: int = 0
    already_linked: int = 0
    fba: int = 0
    not_on_amazon: list[str] = field(default_factory=list)
    not_in_shopify: list[str] = field(default_factory=list)
    listing_ids: list[int] = field(default_factory=list)

    def __str__(self):
        text = (
            f"{self.linked} linked ({self.fba} FBA), {self.already_linked} already linked, "
            f"{_skus(len(self.not_on_amazon))} not on Amazon"
        )
        if self.not_in_shopify:
            text += f", {_skus(len(self.not_in_shopify))} not in Shopify"
        return text


def _skus(count: int) -> str:
    return ngettext("%(n)d SKU", "%(n)d SKUs", count) % {"n": count}


def amazon_listings_by_sku(client: AmazonApi, *, sleep=time.sleep) -> dict:
    """Every listing of the seller in the client's marketplace, from one listings report."""
    report_id = client.request_listings_report()
    for _ in range(REPORT_POLL_ATTEMPTS):
        status = client.get_report(report_id)
        if status.processing_status == "DONE":
            return {row.sku: row for row in client.iter_listings_report(status.report_document_id)}
        if status.processing_status in {"CANCELLED", "FATAL"}:
            raise MarketplaceError(f"Amazon's listings report ended {status.processing_status}.")
        sleep(REPORT_POLL_SECONDS)
    raise MarketplaceError("Amazon's listings report was not ready in time; try again later.")


def selling_list_link_by_sku(*, selling_list: SellingList, acting_user=None) -> LinkSummary:
    """Link every variant of the list's store to the Amazon SKU that equals its SKU."""
    skus = selling_list.shopify_store.variants.exclude(sku="").values_list("sku", flat=True)
    return selling_list_link_skus(
        selling_list=selling_list,
        pairs={sku: sku for sku in skus},
        acting_user=acting_user,
    )


# Bounds of a CSV upload: a catalogue's worth of links, SKUs as long as any vendor allows.
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_CSV_ROWS = 100_000
MAX_SKU_LENGTH = 255
# Errors kept for the downloadable report (and shown on the page, fewer).
MAX_CSV_ERRORS = 1000


def parse_link_csv(text: str) -> tuple[dict[str, str], list[str]]:
    """Read a `shopify_sku,amazon_sku` CSV; returns the pairs and a message per bad line.

    Bounded: at most MAX_CSV_ROWS lines, SKUs of at most MAX_SKU_LENGTH characters and no NUL
    (PostgreSQL refuses it); at most MAX_CSV_ERRORS messages, then one saying how many more.
    Any error means nothing is linked: the merchant fixes the file and uploads it again.
    """
    pairs: dict[str, str] = {}
    errors: list[str] = []
    more = 0

    def error(message: str) -> None:
        nonlocal more
        if len(errors) < MAX_CSV_ERRORS:
            errors.append(message)
        else:
            more += 1

    if "\0" in text:
        return {}, ["The file contains NUL characters: it is not a text CSV."]
    reader = csv.DictReader(io.StringIO(text))
    try:
        if not reader.fieldnames or {"shopify_sku", "amazon_sku"} - set(reader.fieldnames):
            return {}, ["The first line must name the columns: shopify_sku,amazon_sku"]
        for line, row in enumerate(reader, start=2):
            if line - 1 > MAX_CSV_ROWS:
                return {}, [f"The file has more than {MAX_CSV_ROWS:,} lines: split it."]
            shopify_sku = (row.get("shopify_sku") or "").strip()
            amazon_sku = (row.get("amazon_sku") or "").strip()
            if not shopify_sku or not amazon_sku:
                error(f"Line {line}: both shopify_sku and amazon_sku are needed.")
            elif max(len(shopify_sku), len(amazon_sku)) > MAX_SKU_LENGTH:
                error(f"Line {line}: a SKU is longer than {MAX_SKU_LENGTH} characters.")
            elif shopify_sku in pairs:
                error(f"Line {line}: {shopify_sku} appears twice.")
            else:
                pairs[shopify_sku] = amazon_sku
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        return {}, [f"Line {reader.line_num}: not a readable CSV line ({exc})."]
    if more:
        errors.append(f"… and {more:,} more errors.")
    if not pairs and not errors:
        errors.append("The file has no links below its header line.")
    return pairs, errors


def selling_list_link_skus(
    *,
    selling_list: SellingList,
    pairs: dict[str, str],
    acting_user=None,
) -> LinkSummary:
    """Link Shopify variants (by their SKU) to Amazon SKUs, e.g. from a CSV upload.

    Reads Amazon's listings report once (ASIN, FBA or FBM, quantity), creates the missing
    listings, then computes their Result (and queues pushes as the switches allow). Shopify
    SKUs the store does not have, and Amazon SKUs Amazon does not list, are reported, not linked.
    """
    client = amazon_client(selling_list.amazon_account, selling_list.marketplace_id)
    try:
        on_amazon = amazon_listings_by_sku(client)
    finally:
        client.close()
    summary = LinkSummary()
    linked_skus = set(
        Listing.objects.filter(
            amazon_account=selling_list.amazon_account, marketplace=selling_list.marketplace
        ).values_list("sku", flat=True)
    )
    variants = {
        v.sku: v
        for v in selling_list.shopify_store.variants.filter(sku__in=list(pairs)).order_by("pk")
    }
    summary.not_in_shopify = sorted(set(pairs) - set(variants))
    new = []
    for shopify_sku, amazon_sku in sorted(pairs.items()):
        variant = variants.get(shopify_sku)
        if variant is None:
            continue
        if amazon_sku in linked_skus:
            summary.already_linked += 1
            continue
        row = on_amazon.get(amazon_sku)
        if row is None:
            summary.not_on_amazon.append(amazon_sku)
            continue
        fba = row.fulfillment_channel != "DEFAULT"
        summary.fba += fba
        new.append(
            Listing(
                selling_list=selling_list,
                amazon_account=selling_list.amazon_account,
                marketplace=selling_list.marketplace,
                variant=variant,
                sku=amazon_sku,
                asin=row.asin or "",
                fulfillment_channel=FulfillmentChannel.FBA if fba else FulfillmentChannel.FBM,
                status=ListingStatus.FBA if fba else ListingStatus.PENDING,
                amazon_quantity=row.quantity,
            )
        )
        linked_skus.add(amazon_sku)
    with transaction.atomic():
        created = Listing.objects.bulk_create(new, batch_size=1000)
        summary.linked = len(created)
        summary.listing_ids = ids = list(
            Listing.objects.filter(
                selling_list=selling_list, sku__in=[x.sku for x in new]
            ).values_list("pk", flat=True)
        )
        listings_recompute(listing_ids=ids, reason=PushReason.LINK, acting_user=acting_user)
    return summary
