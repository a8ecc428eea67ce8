"""Reconcile: webhooks are not enough on their own (dropped, delayed, metafield edits).

Periodically read Amazon's quantities back (one listings report per account and marketplace)
and re-read the Shopify catalogue (always with a bulk operation: paged reads wait on Shopify's
cost throttle, ~2 s a page; it is started before Amazon is read, so Shopify builds its file
meanwhile); every listing is then recomputed with reason "reconcile", which compares the Result
with what Amazon shows and queues a push where they drift apart.

A pass is recorded as a `ReconcileRun` (its duration, beside beat's interval, in the admin),
which is also its lock: a pass that finds another running does nothing.
"""

import logging
import time
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.bulk import update_from_rows
from accounts.models import AmazonAccount, ShopifyStore
from selling_lists.models import FulfillmentChannel, Listing

from . import conf
from .clients.errors import MarketplaceError
from .clients.factory import amazon_client
from .inbound.catalogue import StartedRead, catalogue_import, catalogue_read_start
from .linking import amazon_listings_by_sku
from .models import PushReason, ReconcileRun

logger = logging.getLogger(__name__)

# Listings read and written per statement: memory and statement size stay flat at 300k.
BATCH = 5000


@dataclass
class ReconcileSummary:
    read_back: int = 0
    drifted: int = 0
    variants: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: str = ""  # why this pass did nothing (another one is running)
    # Where the time went: Amazon's read-back; Shopify's re-read (starting the bulk operation;
    # after the read-back, what is left of its wait, download, upserts) and, within it, the
    # recompute of the listings.
    amazon_seconds: float = 0.0
    shopify_seconds: float = 0.0
    recompute_seconds: float = 0.0

    def __str__(self):
        if self.skipped:
            return self.skipped
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
    listings = (
        Listing.objects.filter(
            amazon_account=account,
            marketplace_id=marketplace_id,
            fulfillment_channel=FulfillmentChannel.FBM,
        )
        .order_by("pk")
        .values_list("pk", "sku", "amazon_quantity", "computed_quantity")
    )
    read = drifted = 0
    changed: list[tuple[int, int]] = []
    # One query per BATCH listings read (keyset pages), one UPDATE per BATCH changed.
    last = 0
    while page := list(listings.filter(pk__gt=last)[:BATCH]):
        last = page[-1][0]
        read += len(page)
        for pk, sku, amazon_quantity, computed_quantity in page:
            row = rows.get(sku)
            if row is None or row.quantity is None:
                continue
            if computed_quantity is not None and row.quantity != computed_quantity:
                drifted += 1
            if row.quantity != amazon_quantity:
                changed.append((pk, row.quantity))
        if len(changed) >= BATCH:
            update_from_rows(Listing, ["id", "amazon_quantity"], changed)
            changed = []
    update_from_rows(Listing, ["id", "amazon_quantity"], changed)
    return read, drifted


def reconcile_run() -> ReconcileSummary:
    """One reconcile pass, unless another is running: read Amazon back for every account and
    marketplace, re-read every Shopify store, and record the pass (`ReconcileRun`)."""
    run = _run_start()
    if run is None:
        logger.info("reconcile skipped: the previous pass is still running")
        return ReconcileSummary(skipped="Skipped: the previous reconcile is still running.")
    start = time.monotonic()
    summary = ReconcileSummary()
    try:
        _reconcile(summary)
    finally:
        run.finished_at = timezone.now()
        run.running = False
        run.seconds = round(time.monotonic() - start, 3)
        run.read_back, run.drifted, run.variants = (
            summary.read_back,
            summary.drifted,
            summary.variants,
        )
        run.errors = "\n".join(summary.errors)
        run.save()
    logger.info(
        "reconcile took %.1f s: Amazon read-back %.1f s, Shopify re-read %.1f s "
        "(of which recompute %.1f s)",
        run.seconds,
        summary.amazon_seconds,
        summary.shopify_seconds,
        summary.recompute_seconds,
    )
    if run.seconds > run.interval_seconds:
        logger.warning(
            "reconcile took %.0f s, longer than its interval of %.0f s",
            run.seconds,
            run.interval_seconds,
        )
    return summary


def _run_start() -> ReconcileRun | None:
    """Take the lock: insert the running row. A pass marked running for longer than the jobs'
    hard time limit died with its worker and is closed first."""
    now = timezone.now()
    ReconcileRun.objects.filter(
        running=True, started_at__lt=now - conf.reconcile_stale_after()
    ).update(running=False, finished_at=now, errors="Abandoned: its worker stopped.")
    try:
        with transaction.atomic():
            return ReconcileRun.objects.create(
                started_at=now, interval_seconds=conf.reconcile_interval()
            )
    except IntegrityError:
        return None


def _reconcile(summary: ReconcileSummary) -> None:
    # Shopify's bulk operations are started first: Shopify builds their files while Amazon's
    # listings reports are requested, built and read, so the two waits overlap.
    began = time.monotonic()
    started: dict[int, StartedRead] = {}
    stores = list(ShopifyStore.objects.all())
    for store in stores:
        try:
            started[store.pk] = catalogue_read_start(store)
        except MarketplaceError as error:
            summary.errors.append(f"{store}: {error.message}")
    summary.shopify_seconds = time.monotonic() - began
    began = time.monotonic()
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
    summary.amazon_seconds = time.monotonic() - began
    began = time.monotonic()
    for store in stores:
        if store.pk not in started:
            continue  # its error is recorded
        try:
            imported = catalogue_import(
                store=store,
                bulk=True,
                reason=PushReason.RECONCILE,
                started=started[store.pk],
            )
        except MarketplaceError as error:
            summary.errors.append(f"{store}: {error.message}")
            continue
        summary.variants += imported.variants
        summary.recompute_seconds += imported.recompute_seconds
    summary.shopify_seconds += time.monotonic() - began
