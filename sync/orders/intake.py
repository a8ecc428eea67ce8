"""Amazon orders → the stock ledger (DESIGN.md flow 6): import, match, place.

    orders_import(account=...)            searchOrders 2026-01-01 → AmazonOrder rows + ledger
    order_items_match_unmatched(...)             items whose SKU was linked later → ledger entries
    stock_target(listing)                  the Shopify location a sale is taken from

Import is idempotent: orders are keyed by (account, order id), items by (order, order item
id), and the ledger by (order item, action). Importing the same or an overlapping window
again finds the rows it made the first time. Writing the ledger to Shopify, exactly once, is
`apply.py`'s job. See docs/orders.md for the location rule, the windows and the switches.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.models import AmazonAccount, Marketplace
from profiles.models import FixedAfterSale
from profiles.rules import STATIC_MODES
from selling_lists.models import Listing

from .. import conf
from ..clients.amazon_data import AmazonOrder as RemoteOrder
from ..clients.errors import RateLimited
from ..clients.factory import amazon_client
from ..models import IN_FLIGHT_STATES, PushReason, QtyPush
from ..outbox.recompute import listings_recompute
from ..ratelimit import Rate, bucket_key, default_bucket
from .models import AmazonOrder, AmazonOrderItem, OrderStockEntry
from .placement import place_entry

logger = logging.getLogger(__name__)

Entry = OrderStockEntry
State = OrderStockEntry.State
Action = OrderStockEntry.Action

# Amazon can stamp an order's lastUpdatedTime a little in the past: every import re-reads
# `conf.orders_overlap()` before the previous one's start. Safe because import is idempotent.
# searchOrders allows 0.0056 requests/s (one per ~180 s) per seller, burst 20: a scheduled
# import of an account is due only after `conf.orders_interval()` per marketplace it sells in.
# searchOrders' published rate per seller and application (0.0056/s, burst 20), kept with the
# same 10 % margin as the sync engine's other operations, in the seller's shared bucket.
SEARCH_ORDERS_RATE = Rate(0.0056, 20)
SEARCH_ORDERS_PAGE_SIZE = 100
LIVE_STATUSES = frozenset(
    {
        AmazonOrder.Status.PENDING,
        AmazonOrder.Status.UNSHIPPED,
        AmazonOrder.Status.PARTIALLY_SHIPPED,
        AmazonOrder.Status.SHIPPED,
    }
)


# --- import ------------------------------------------------------------------------------------


@dataclass
class OrderImportSummary:
    orders: int = 0
    new_orders: int = 0
    fbm: int = 0
    fba: int = 0
    cancelled: int = 0
    unmatched_items: int = 0
    entry_ids: list[int] = field(default_factory=list)
    variant_ids: set[int] = field(default_factory=set)
    restore_listing_ids: set[int] = field(default_factory=set)
    sold_listing_ids: set[int] = field(default_factory=set)  # Amazon's quantity moved
    since: datetime | None = None

    def __str__(self):
        return (
            f"{self.orders} order(s) read ({self.new_orders} new: {self.fbm} FBM, "
            f"{self.fba} FBA), {self.cancelled} newly cancelled, "
            f"{self.unmatched_items} unmatched item(s), "
            f"{len(self.entry_ids)} Shopify stock change(s) queued"
        )


def orders_window_start(account: AmazonAccount, now: datetime) -> datetime:
    """`lastUpdatedAfter` of the next import: the previous import's start minus the overlap.

    The first import starts when the account was connected (at most one overlap back), so
    history from before Stocklink is never replayed into Shopify.
    """
    if account.orders_synced_until:
        return account.orders_synced_until - conf.orders_overlap()
    return max(account.created_at, now - conf.orders_overlap())


def orders_import_due(account: AmazonAccount, now: datetime, marketplaces: int) -> bool:
    """Whether a scheduled import fits searchOrders' published rate for this account."""
    if account.orders_synced_until is None:
        return True
    return now - account.orders_synced_until >= conf.orders_interval() * max(marketplaces, 1)


def orders_import(
    *,
    account: AmazonAccount,
    marketplace: Marketplace | None = None,
    now: datetime | None = None,
    since: datetime | None = None,
) -> OrderImportSummary:
    """Read every order updated since the last import (all pages) and record it.

    Per marketplace of the account (or just `marketplace`). New FBM items of linked SKUs get a
    pending decrement in the ledger (when the account syncs FBM orders); cancelled ones a
    restore. Nothing is written to Shopify here: `order_entries_apply_pending` does that, so an
    Amazon outage and a Shopify one never block each other. The listings of every variant
    whose reserved units changed are recomputed at once (the oversell guard), and fixed-quantity
    listings whose profile says "restore" are pushed back to N.

    `now` is the start of this import (the next window starts from it); `since` overrides the
    window's start (a manual backfill). The account's watermark moves only after all of its
    marketplaces were read in full. Raises `RateLimited`/`TransientError` from Amazon; orders
    already recorded stay recorded and the next import reads the window again.
    """
    now = now or timezone.now()
    if timezone.is_naive(now) or (since is not None and timezone.is_naive(since)):
        raise ValueError("import_orders needs aware datetimes")
    summary = OrderImportSummary(since=since or orders_window_start(account, now))
    marketplaces = [marketplace] if marketplace else list(account.marketplaces.order_by("pk"))
    known = {m.pk: m for m in Marketplace.objects.all()}
    for market in marketplaces:
        client = amazon_client(account, market.pk)
        try:
            for remote in _search_orders_paced(client, account, summary.since):
                market_of_order = known.get(remote.marketplace_id or "", market)
                _record_order(account, market_of_order, remote, summary)
        finally:
            client.close()
    if marketplace is None:
        # Only forward: an import started earlier but finished later must not move it back.
        AmazonAccount.objects.filter(pk=account.pk).filter(
            Q(orders_synced_until__isnull=True) | Q(orders_synced_until__lt=now)
        ).update(orders_synced_until=now)
    recompute_for_orders(
        variant_ids=summary.variant_ids,
        listing_ids=summary.sold_listing_ids - summary.restore_listing_ids,
    )
    recompute_for_orders(listing_ids=summary.restore_listing_ids, force=True)
    logger.info("Orders of %s since %s: %s", account, summary.since, summary)
    return summary


def _search_orders_paced(client, account: AmazonAccount, since: datetime):
    """`client.search_orders`, taking a token of the seller's shared bucket before each page.

    The client fetches the next page when the previous one is used up, so a token is taken
    before asking for order 1, 101, 201, ... (one too many when the last page is exactly full:
    the safe side). No token within `conf.rate_max_wait()` → `RateLimited`, the task retries.
    """
    bucket = default_bucket()
    key = bucket_key(account.seller_id, account.region, "search_orders")

    def take_token() -> None:
        rate = Rate(SEARCH_ORDERS_RATE.per_second * conf.rate_safety(), SEARCH_ORDERS_RATE.burst)
        wait = bucket.reserve(key, rate, max_wait=conf.rate_max_wait())
        if wait < 0:
            raise RateLimited(
                f"searchOrders: the budget of seller {account.seller_id} is used up",
                retry_after=-wait,
            )
        if wait:
            time.sleep(wait)

    take_token()
    orders = iter(client.search_orders(since, page_size=SEARCH_ORDERS_PAGE_SIZE))
    taken = 0
    while True:
        if taken and taken % SEARCH_ORDERS_PAGE_SIZE == 0:
            take_token()
        try:
            remote = next(orders)
        except StopIteration:
            return
        taken += 1
        yield remote


def _record_order(
    account: AmazonAccount,
    marketplace: Marketplace,
    remote: RemoteOrder,
    summary: OrderImportSummary,
) -> None:
    summary.orders += 1
    before = copy.deepcopy(summary)
    try:
        _record_order_once(account, marketplace, remote, summary)
    except IntegrityError:
        # A concurrent import created the same order first: read it again and update that one.
        summary.__dict__.update(before.__dict__)
        _record_order_once(account, marketplace, remote, summary)


def _record_order_once(account, marketplace, remote: RemoteOrder, summary) -> None:
    with transaction.atomic():
        order = (
            AmazonOrder.objects.select_for_update()
            .filter(account=account, order_id=remote.order_id)
            .first()
        )
        was_cancelled = order is not None and order.is_cancelled
        if order is None:
            fbm = remote.fulfilled_by == AmazonOrder.FulfilledBy.MERCHANT
            order = AmazonOrder(
                account=account,
                marketplace=marketplace,
                order_id=remote.order_id,
                fulfilled_by=remote.fulfilled_by or "",
                purchased_at=remote.created_time,
                # FBA never touches Shopify; history from before the account was connected
                # (or while the switch was off) is recorded but never replayed into Shopify.
                syncs_stock=fbm
                and account.orders_change_shopify  # seed 001: sync off may stop orders too
                and remote.created_time >= account.created_at,
            )
            new = True
            summary.new_orders += 1
            summary.fbm += fbm
            summary.fba += remote.fulfilled_by == AmazonOrder.FulfilledBy.AMAZON
        elif remote.last_updated_time < order.last_updated:
            return  # an older view of the order than the one we hold (overlapping windows)
        else:
            new = False
        order.status = remote.fulfillment_status or order.status or ""
        order.last_updated = remote.last_updated_time
        order.raw = _jsonable(remote)
        order.save()

        items = {item.order_item_id: item for item in order.items.select_related("listing")}
        listings = _listings_by_sku(account, order.marketplace_id, remote)
        for line in remote.items:
            item = items.get(line.order_item_id)
            if item is not None and item.quantity != line.quantity_ordered:
                # Recorded for the admin; the ledger keeps the units it took (docs/orders.md).
                item.quantity = line.quantity_ordered
                item.save(update_fields=["quantity"])
            if item is None:
                # A SKU is matched when the item is first seen; linking it later is an explicit
                # "Apply unmatched orders", never a surprise on some later import.
                item = AmazonOrderItem.objects.create(
                    order=order,
                    order_item_id=line.order_item_id,
                    sku=line.sku or "",
                    asin=line.asin or "",
                    quantity=line.quantity_ordered,
                    listing=listings.get(line.sku or ""),
                )
                items[item.order_item_id] = item
                if item.listing_id is None:
                    summary.unmatched_items += 1
                elif not order.is_cancelled:
                    _amazon_sold(order, item, summary, sign=-1)
                    if _restores_fixed_quantity(item.listing):
                        summary.restore_listing_ids.add(item.listing_id)
        if order.is_cancelled and not was_cancelled and not new:
            summary.cancelled += 1
            for item in items.values():
                if item.listing_id is not None:
                    _amazon_sold(order, item, summary, sign=+1)
        if order.syncs_stock:
            for item in items.values():
                ensure_entries(order, item, summary)


def _amazon_sold(order: AmazonOrder, item: AmazonOrderItem, summary, *, sign: int) -> None:
    """Amazon's own sale (sign −1) or its cancellation (+1) moves what Amazon shows: what we
    believe it shows follows, so a push is due whenever the Result now differs (a capped
    listing sold down is set back at once, docs/convergence.md). FBA is Amazon's business.

    A push on the wire counts the units too: its read-back may show that many fewer.
    """
    if order.fulfilled_by != AmazonOrder.FulfilledBy.MERCHANT or item.listing_id is None:
        return
    if item.listing.created_at and order.purchased_at < item.listing.created_at:
        return  # sold before linking: the quantity read when linking already counts it
    units = item.quantity * sign
    Listing.objects.filter(pk=item.listing_id, amazon_quantity__isnull=False).update(
        amazon_quantity=Greatest(F("amazon_quantity") + units, 0)
    )
    if sign < 0:
        QtyPush.objects.filter(listing_id=item.listing_id, state__in=IN_FLIGHT_STATES).update(
            sold_since_sent=F("sold_since_sent") + item.quantity
        )
    summary.sold_listing_ids.add(item.listing_id)


def _listings_by_sku(account, marketplace_id, remote: RemoteOrder) -> dict[str, Listing]:
    skus = {line.sku for line in remote.items if line.sku}
    return {
        listing.sku: listing
        for listing in Listing.objects.filter(
            amazon_account=account, marketplace_id=marketplace_id, sku__in=skus
        ).select_related("selling_list__profile", "selling_list__shopify_store", "variant")
    }


def _restores_fixed_quantity(listing: Listing) -> bool:
    """A static-mode listing whose profile sets Amazon back to N after a sale (seed 001)."""
    mode = listing.override_mode or listing.selling_list.profile.mode
    return (
        mode in STATIC_MODES
        and listing.selling_list.profile.fixed_after_sale == FixedAfterSale.RESTORE
    )


def _jsonable(remote: RemoteOrder) -> dict:
    data = asdict(remote)
    data["created_time"] = remote.created_time.isoformat()
    data["last_updated_time"] = remote.last_updated_time.isoformat()
    return data


def ensure_entries(order: AmazonOrder, item: AmazonOrderItem, summary) -> None:
    """The ledger rows this item needs now: a decrement while live, a restore once cancelled."""
    if item.listing_id is None:
        return
    decrement = (
        Entry.objects.select_for_update().filter(order_item=item, action=Action.DECREMENT).first()
    )
    if not order.is_cancelled:
        if decrement is None and order.status in LIVE_STATUSES:
            entry = _new_decrement(order, item)
            summary.entry_ids.append(entry.pk)
            if entry.variant_id:
                summary.variant_ids.add(entry.variant_id)
        return
    if decrement is None:
        return  # first seen already cancelled: nothing was taken, nothing to give back
    if decrement.state == State.APPLIED or decrement.in_doubt:
        # In doubt: the sale may have reached Shopify; the restore waits until that is known.
        restore, created = Entry.objects.get_or_create(
            order_item=item,
            action=Action.RESTORE,
            defaults=dict(
                quantity=decrement.quantity,
                store_id=decrement.store_id,
                variant_id=decrement.variant_id,
                location_id=decrement.location_id,
                inventory_item_id=decrement.inventory_item_id,
                shopify_location_id=decrement.shopify_location_id,
                idempotency_key=_key(order, item, Action.RESTORE),
            ),
        )
        if created:
            summary.entry_ids.append(restore.pk)
    elif decrement.state in (State.PENDING, State.FAILED):
        decrement.state = State.SKIPPED
        decrement.note = "Cancelled on Amazon before the sale was taken off Shopify."
        decrement.save(update_fields=["state", "note", "updated_at"])
        if decrement.variant_id:
            summary.variant_ids.add(decrement.variant_id)  # its reserved units are released


def _key(order: AmazonOrder, item: AmazonOrderItem, action: str) -> str:
    # Amazon order item ids are unique across Amazon; the seller id keeps keys readable.
    return f"stocklink:{order.account.seller_id}:{order.order_id}:{item.order_item_id}:{action}"


def _new_decrement(order: AmazonOrder, item: AmazonOrderItem) -> OrderStockEntry:
    listing = item.listing
    entry = Entry(
        order_item=item,
        action=Action.DECREMENT,
        quantity=item.quantity,
        store_id=listing.selling_list.shopify_store_id,
        variant=listing.variant,
        idempotency_key=_key(order, item, Action.DECREMENT),
    )
    place_entry(entry, listing)
    entry.save()
    return entry


# --- recompute -------------------------------------------------------------------------------


def recompute_for_orders(*, variant_ids=None, listing_ids=None, force: bool = False) -> None:
    """Recompute the listings an order changed, with reason "order" (pushes queued if needed)."""
    if not variant_ids and not listing_ids:
        return
    listings_recompute(
        variant_ids=set(variant_ids) if variant_ids else None,
        listing_ids=set(listing_ids) if listing_ids else None,
        reason=PushReason.ORDER,
        force=force,
    )
