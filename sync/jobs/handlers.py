"""Job handlers: `handler(job, progress) -> summary`. Each calls the services of its flow.

A handler reads what it needs from `job.params` (ids and plain values), reports through
`progress`, returns one line for the merchant, and raises `JobError` with a readable reason
to stop. Vendor `TransientError`s propagate: the task retries the whole handler later, so a
handler must be safe to run again from the start (every service here is idempotent). Register
it in `sync.jobs.tasks.HANDLERS`.
"""

import dataclasses

from django.utils.translation import ngettext

from accounts.bulk import id_set
from accounts.models import ShopifyStore
from selling_lists.models import Listing, SellingList

from .. import conf
from ..inbound.catalogue import catalogue_import
from ..inbound.refresh import listings_refresh_stock
from ..linking import LinkSummary, selling_list_link_by_sku, selling_list_link_skus
from ..models import PushReason
from ..orders.apply import order_entries_apply_pending
from ..orders.matching import order_items_match_unmatched
from ..orders.selectors import unmatched_items_for_listings
from ..outbox.actions import listings_apply_rule_change, listings_update_qty
from ..reconcile import reconcile_run
from .models import Job
from .services import JobError, Progress

# Listings handled per step of Update Qty: progress moves, and each step is one transaction.
UPDATE_QTY_STEP = 2000


def _selling_list(job: Job) -> SellingList:
    selling_list = SellingList.objects.filter(pk=job.params.get("selling_list_id")).first()
    if selling_list is None:
        raise JobError("The Selling List was deleted before the job ran.")
    return selling_list


def _report_link(selling_list: SellingList, summary: LinkSummary, progress: Progress) -> str:
    for label, skus in (
        ("not in Shopify", summary.not_in_shopify),
        ("not on Amazon", summary.not_on_amazon),
    ):
        for sku in skus:
            progress.error(f"{sku}: {label}, not linked.")
    text = f"{selling_list}: {summary}."
    unmatched = unmatched_items_for_listings(summary.listing_ids).count()
    if unmatched:
        text += " " + ngettext(
            "%(n)d Amazon order item was sold before its SKU was linked: select those "
            "listings and run “Apply unmatched orders” to take it off Shopify.",
            "%(n)d Amazon order items were sold before their SKUs were linked: select those "
            "listings and run “Apply unmatched orders” to take them off Shopify.",
            unmatched,
        ) % {"n": unmatched}
    return text


def link_by_sku(job: Job, progress: Progress) -> str:
    """Link every variant of the list's store to the Amazon SKU equal to its SKU."""
    selling_list = _selling_list(job)
    progress.total(None)  # one listings report, then one write: no steps to count
    summary = selling_list_link_by_sku(selling_list=selling_list, acting_user=job.started_by)
    progress.total(summary.linked)
    progress.advance(summary.linked)
    return _report_link(selling_list, summary, progress)


def link_csv(job: Job, progress: Progress) -> str:
    """Link Shopify SKUs to other Amazon SKUs from the pairs of an uploaded CSV."""
    selling_list = _selling_list(job)
    pairs = job.params.get("pairs") or {}
    progress.total(len(pairs))
    summary = selling_list_link_skus(
        selling_list=selling_list, pairs=pairs, acting_user=job.started_by
    )
    progress.advance(len(pairs))
    return _report_link(selling_list, summary, progress)


def import_catalogue(job: Job, progress: Progress) -> str:
    """Read a store's whole catalogue into the mirror and recompute what it feeds."""
    store = ShopifyStore.objects.filter(pk=job.params.get("store_id")).first()
    if store is None:
        raise JobError("The Shopify store was deleted before the job ran.")
    progress.total(None)
    summary = catalogue_import(store=store)
    progress.total(summary.variants)
    progress.advance(summary.variants)
    return f"{store}: imported {summary}."


def _listing_ids(job: Job) -> list[int]:
    """The listings a job is about: chosen ones, or every listing of some Selling Lists."""
    if "selling_list_ids" in job.params:
        scope = Listing.objects.filter(selling_list_id__in=job.params["selling_list_ids"])
        return list(scope.order_by("pk").values_list("pk", flat=True))
    return sorted(set(job.params.get("listing_ids") or []))


def update_qty(job: Job, progress: Progress) -> str:
    """Update Qty: re-read Shopify's stock of the listings, then queue each listing's Result
    computed from it (seed 000's "Update Qty"; never from a stale stored copy).

    Up to `SYNC_UPDATE_QTY_BULK_THRESHOLD` listings, each step's variants are re-read by
    GraphQL pages (100 items a page, paced by Shopify's cost limit: ~2 s a page); above it, each
    store is re-read once by a bulk operation, as the reconcile does (100,000 listings would
    otherwise wait on 1,000 throttled pages).
    """
    ids = _listing_ids(job)
    progress.total(len(ids))
    bulk = len(ids) > conf.update_qty_bulk_threshold()
    if bulk:
        stores = ShopifyStore.objects.filter(
            pk__in=Listing.objects.filter(pk__in=id_set(ids)).values("variant__store_id")
        )
        for store in stores:
            catalogue_import(store=store, bulk=True, reason=PushReason.STOCK_CHANGE)
    queued, refused, off = 0, 0, set()
    for start in range(0, len(ids), UPDATE_QTY_STEP):
        step = ids[start : start + UPDATE_QTY_STEP]
        if not bulk:
            listings_refresh_stock(listing_ids=step)
        summary = listings_update_qty(listing_ids=step, acting_user=job.started_by)
        queued += summary.queued
        refused += summary.refused
        off |= set(summary.sync_off_accounts)
        progress.advance(len(step))
    if off:
        progress.error(
            f"Nothing was sent for {', '.join(sorted(off))}: “Keep inventory in sync from "
            "Shopify to Amazon” is off. Switch it on in the Amazon account first."
        )
    text = ngettext(
        "%(n)d listing is Pending Qty Update", "%(n)d listings are Pending Qty Update", queued
    ) % {"n": queued}
    if refused:
        text += f"; {refused} not sent (paused, FBA or stock missing)"
    return text + "."


def rule_change(job: Job, progress: Progress) -> str:
    """Send what a profile or Selling List change did to its listings' Results (flow 5)."""
    ids = _listing_ids(job)
    progress.total(len(ids))
    queued = 0
    for start in range(0, len(ids), UPDATE_QTY_STEP):
        step = ids[start : start + UPDATE_QTY_STEP]
        queued += listings_apply_rule_change(listing_ids=step, acting_user=job.started_by).queued
        progress.advance(len(step))
    return ngettext(
        "%(n)d listing is Pending Qty Update with its new quantity.",
        "%(n)d listings are Pending Qty Update with their new quantities.",
        queued,
    ) % {"n": queued}


def apply_unmatched_orders(job: Job, progress: Progress) -> str:
    """Match order items sold before their SKU was linked, then take them off Shopify."""
    matched = order_items_match_unmatched(
        listing_ids=job.params.get("listing_ids"),
        order_ids=job.params.get("order_ids"),
        acting_user=job.started_by,
    )
    if not matched.matched:
        return "No unmatched order items carry these SKUs."
    progress.total(len(matched.entry_ids))
    applied = order_entries_apply_pending(entry_ids=matched.entry_ids)
    progress.advance(len(matched.entry_ids))
    return (
        ngettext(
            "%(n)d order item is now matched to its listing.",
            "%(n)d order items are now matched to their listings.",
            matched.matched,
        )
        % {"n": matched.matched}
        + f" Shopify stock: {applied}."
    )


def reconcile(job: Job, progress: Progress) -> str:
    """Reconcile now: read Amazon back for every account, re-read every Shopify store."""
    progress.total(None)  # reconcile_run reports no steps: the admin shows a busy bar
    summary = reconcile_run()
    for message in summary.errors:
        progress.error(message)
    text = str(dataclasses.replace(summary, errors=[]))  # the errors are listed on their own
    return f"{text[:1].upper()}{text[1:]}."
