"""Amazon orders → Shopify stock (DESIGN.md flow 6): import, ledger, exactly-once writes.

    import_orders(account=...)            searchOrders 2026-01-01 → AmazonOrder rows + ledger
    apply_pending_order_items(account=...) ledger entries → inventoryAdjustQuantities, once each
    apply_order_item(entry_id=...)         one ledger entry, exactly once (see below)
    match_unmatched_items(...)             items whose SKU was linked later → ledger entries
    retry_order_items(entry_ids=...)       failed entries back to pending (admin "Retry")
    reserved_by_variant(variant_ids)       units sold on Amazon not yet taken off in Shopify

Exactly once, end to end:

* Import is idempotent: orders are keyed by (account, order id), items by (order, order item
  id), and the ledger by (order item, action). Importing the same or an overlapping window
  again finds the rows it made the first time.
* Before each Shopify call the entry records the call's `@idempotent` key and the quantity it
  expects Shopify to hold (`changeFromQuantity`), in a committed write. A worker that dies after
  the call leaves that attempt "in doubt"; the next run sends the very same request: Shopify
  replays the first result instead of applying it again. Should Shopify's idempotency fail,
  `changeFromQuantity` makes the resend stale instead of applied, and a re-read that shows the
  expected quantity minus the sale proves the first call went through. Anything else in doubt is
  flagged for review rather than written twice.

See docs/orders.md for the location rule, the windows and the switches.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import AmazonAccount, InventoryLevel, Location, Marketplace
from profiles.models import FixedAfterSale
from profiles.rules import STATIC_MODES
from selling_lists.models import Listing

from .clients.amazon import AmazonOrder as RemoteOrder
from .clients.errors import MarketplaceError, RateLimited, TransientError
from .clients.shopify import ShopifyClient, StaleQuantity
from .order_models import AmazonOrder, AmazonOrderItem, OrderStockEntry
from .ratelimit import Rate, bucket_key, default_bucket
from .vendors import amazon_client, shopify_client

logger = logging.getLogger(__name__)

# Amazon can stamp an order's lastUpdatedTime a little in the past; every import re-reads this
# much before the previous one's start. Safe because import is idempotent.
OVERLAP = getattr(settings, "STOCKLINK_ORDERS_OVERLAP", timedelta(minutes=15))
# searchOrders allows 0.0056 requests/s (one per ~180 s) per seller, burst 20: a scheduled
# import of an account is due only after this much time per marketplace it sells in.
MIN_INTERVAL_PER_MARKETPLACE = getattr(
    settings, "STOCKLINK_ORDERS_MIN_INTERVAL_PER_MARKETPLACE", timedelta(seconds=180)
)
# searchOrders' published rate per seller and application (0.0056/s, burst 20), kept with the
# same 10 % margin as the sync engine's other operations, in the seller's shared bucket.
SEARCH_ORDERS_RATE = Rate(0.0056 * float(getattr(settings, "SYNC_RATE_SAFETY", 0.9)), 20)
SEARCH_ORDERS_PAGE_SIZE = 100
SEARCH_ORDERS_MAX_WAIT = float(getattr(settings, "SYNC_RATE_MAX_WAIT", 30.0))
# A lease longer than any one Shopify call (timeouts are 5 s + 30 s, with retries inside).
LEASE = timedelta(minutes=5)
# changeFromQuantity can go stale while Shopify sells the same item; re-read and try again.
MAX_STALE_RETRIES = 5
REFERENCE_URI = "gid://stocklink/AmazonOrder/{order_id}"
LIVE_STATUSES = frozenset(
    {
        AmazonOrder.Status.PENDING,
        AmazonOrder.Status.UNSHIPPED,
        AmazonOrder.Status.PARTIALLY_SHIPPED,
        AmazonOrder.Status.SHIPPED,
    }
)

Entry = OrderStockEntry
State = OrderStockEntry.State
Action = OrderStockEntry.Action


# --- reads -------------------------------------------------------------------------------------


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
            variant_id__in=ids,
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
        return account.orders_synced_until - OVERLAP
    return max(account.created_at, now - OVERLAP)


def orders_import_due(account: AmazonAccount, now: datetime, marketplaces: int) -> bool:
    """Whether a scheduled import fits searchOrders' published rate for this account."""
    if account.orders_synced_until is None:
        return True
    return now - account.orders_synced_until >= MIN_INTERVAL_PER_MARKETPLACE * max(marketplaces, 1)


def import_orders(
    *,
    account: AmazonAccount,
    marketplace: Marketplace | None = None,
    now: datetime | None = None,
    since: datetime | None = None,
) -> OrderImportSummary:
    """Read every order updated since the last import (all pages) and record it.

    Per marketplace of the account (or just `marketplace`). New FBM items of linked SKUs get a
    pending decrement in the ledger (when the account syncs FBM orders); cancelled ones a
    restore. Nothing is written to Shopify here: `apply_pending_order_items` does that, so an
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
    _recompute(variant_ids=summary.variant_ids)
    _recompute(listing_ids=summary.restore_listing_ids, force=True)
    logger.info("Orders of %s since %s: %s", account, summary.since, summary)
    return summary


def _search_orders_paced(client, account: AmazonAccount, since: datetime):
    """`client.search_orders`, taking a token of the seller's shared bucket before each page.

    The client fetches the next page when the previous one is used up, so a token is taken
    before asking for order 1, 101, 201, ... (one too many when the last page is exactly full:
    the safe side). No token within `SEARCH_ORDERS_MAX_WAIT` → `RateLimited`, the task retries.
    """
    bucket = default_bucket()
    key = bucket_key(account.seller_id, account.region, "search_orders")

    def take_token() -> None:
        wait = bucket.reserve(key, SEARCH_ORDERS_RATE, max_wait=SEARCH_ORDERS_MAX_WAIT)
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
                and account.sync_fbm_orders
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
                elif not order.is_cancelled and _restores_fixed_quantity(item.listing):
                    summary.restore_listing_ids.add(item.listing_id)
        if order.is_cancelled and not was_cancelled and not new:
            summary.cancelled += 1
        if order.syncs_stock:
            for item in items.values():
                _ensure_entries(order, item, summary)


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


def _ensure_entries(order: AmazonOrder, item: AmazonOrderItem, summary) -> None:
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
    _place(entry, listing)
    entry.save()
    return entry


def _place(entry: OrderStockEntry, listing: Listing) -> None:
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


# --- unmatched items ---------------------------------------------------------------------------


@dataclass
class MatchSummary:
    matched: int = 0
    still_unmatched: int = 0
    entry_ids: list[int] = field(default_factory=list)
    variant_ids: set[int] = field(default_factory=set)


def match_unmatched_items(
    *,
    order_ids: Iterable[int] | None = None,
    listing_ids: Iterable[int] | None = None,
    acting_user=None,
) -> MatchSummary:
    """Link unmatched order items to listings that now carry their SKU, and queue their sale.

    Choose the items by their orders (`order_ids`) or by the listings just linked
    (`listing_ids`). A matched item of a live FBM order that syncs stock gets its decrement;
    call `apply_pending_order_items` (or the admin action does) to write it to Shopify.
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
                _ensure_entries(order, item, summary)
    if summary.matched:
        logger.info(
            "%s matched %d unmatched order item(s)", acting_user or "Stocklink", summary.matched
        )
    _recompute(variant_ids=summary.variant_ids)
    return summary


# --- applying to Shopify -----------------------------------------------------------------------


@dataclass
class ApplySummary:
    applied: int = 0
    failed: int = 0
    skipped: int = 0
    waiting: int = 0

    def __str__(self):
        return (
            f"{self.applied} applied to Shopify, {self.failed} failed, "
            f"{self.skipped} not needed, {self.waiting} still pending"
        )


def apply_pending_order_items(
    *,
    account: AmazonAccount | None = None,
    entry_ids: Iterable[int] | None = None,
    limit: int = 1000,
) -> ApplySummary:
    """Write pending ledger entries to Shopify: sales first, then cancellations.

    One Shopify client per store. A Shopify `RateLimited` stops the run (raised, the task retries
    later); other transient errors leave the entry pending with the error shown.
    """
    entries = Entry.objects.filter(state=State.PENDING)
    if account is not None:
        entries = entries.filter(order_item__order__account=account)
    if entry_ids is not None:
        entries = entries.filter(pk__in=list(entry_ids))
    # Decrement sorts before restore, so a cancellation finds its sale already resolved.
    ids_by_store: dict[int, list[int]] = defaultdict(list)
    for pk, store_id in entries.order_by("action", "created_at", "pk").values_list(
        "pk", "store_id"
    )[:limit]:
        ids_by_store[store_id].append(pk)
    summary = ApplySummary()
    for ids in ids_by_store.values():
        client = None
        try:
            for pk in ids:
                entry = Entry.objects.select_related("store").get(pk=pk)
                if client is None:
                    client = shopify_client(entry.store)
                try:
                    entry = apply_order_item(entry_id=pk, client=client)
                except RateLimited:
                    raise
                except TransientError:
                    entry = Entry.objects.get(pk=pk)  # stays pending, in doubt, error shown
                state = entry.state
                summary.applied += state == State.APPLIED
                summary.failed += state == State.FAILED
                summary.skipped += state == State.SKIPPED
                summary.waiting += state == State.PENDING
        finally:
            if client is not None:
                client.close()
    return summary


def apply_order_item(*, entry_id: int, client: ShopifyClient | None = None) -> OrderStockEntry:
    """Apply one ledger entry to Shopify, exactly once; returns the entry as it now stands.

    Safe to call any number of times, from any number of workers: an applied or skipped entry
    is returned as is, a leased one is left to its worker, and an attempt left in doubt by a
    dead worker is resolved before anything new is sent (module docstring).
    """
    entry = Entry.objects.select_related("order_item__order__account").get(pk=entry_id)
    if entry.state in (State.APPLIED, State.SKIPPED):
        return entry
    if entry.action == Action.RESTORE:
        sale = Entry.objects.get(order_item_id=entry.order_item_id, action=Action.DECREMENT)
        if sale.state == State.SKIPPED:
            return _finish(entry, state=State.SKIPPED, note="The sale never reached Shopify.")
        if sale.state != State.APPLIED:
            return entry  # wait until the sale itself is resolved
    elif entry.order_item.order.is_cancelled and not entry.in_doubt:
        return _finish(
            entry,
            state=State.SKIPPED,
            note="Cancelled on Amazon before the sale was taken off Shopify.",
        )
    if entry.inventory_item_id is None or entry.shopify_location_id is None:
        return _finish(
            entry, state=State.FAILED, error=entry.error or "No Shopify location for this entry."
        )
    lease = _claim(entry)
    if lease is None:
        return Entry.objects.get(pk=entry_id)  # another worker holds it
    own_client = client is None
    client = client or shopify_client(entry.store)
    try:
        return _apply_claimed(entry, client, lease)
    finally:
        Entry.objects.filter(pk=entry.pk, lease_until=lease).update(lease_until=None)
        if own_client:
            client.close()


def _claim(entry: OrderStockEntry) -> datetime | None:
    now = timezone.now()
    lease = now + LEASE
    claimed = (
        Entry.objects.filter(pk=entry.pk, state=State.PENDING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease)
    )
    return lease if claimed else None


def _apply_claimed(entry: OrderStockEntry, client: ShopifyClient, lease: datetime):
    entry.refresh_from_db()
    order = entry.order_item.order
    reference = REFERENCE_URI.format(order_id=order.order_id)
    reason = "correction" if entry.action == Action.DECREMENT else "restock"
    change_from = None
    for _ in range(MAX_STALE_RETRIES):
        in_doubt = entry.in_doubt
        if in_doubt:
            # Resend exactly what the dead worker sent: same key, same input.
            key, change_from = entry.attempt_key, entry.change_from
        else:
            if change_from is None:
                change_from = _mirrored_available(entry)
                if change_from is None:
                    change_from = _read_available(client, entry)
                if change_from is None:
                    # Never opt out of changeFromQuantity: it is what detects a double write.
                    return _finish(
                        entry,
                        state=State.FAILED,
                        error="Shopify does not stock this item at the chosen location.",
                    )
            key = f"{entry.idempotency_key}:{entry.attempts + 1}"
            # Committed before the call: if we die after it, the next run knows what was sent.
            recorded = Entry.objects.filter(
                pk=entry.pk, state=State.PENDING, lease_until=lease
            ).update(attempt_key=key, change_from=change_from, attempts=F("attempts") + 1)
            if not recorded:
                return Entry.objects.get(pk=entry.pk)
            entry.refresh_from_db()
        try:
            after = client.adjust_available(
                entry.inventory_item_id,
                entry.shopify_location_id,
                entry.delta,
                change_from=change_from,
                idempotency_key=key,
                reference_uri=reference,
                reason=reason,
            )
        except StaleQuantity:
            current = _read_available(client, entry)
            if in_doubt:
                if (
                    current is not None
                    and change_from is not None
                    and (current == change_from + entry.delta)
                ):
                    return _mark_applied(
                        entry,
                        key,
                        current,
                        note="Shopify did not replay the earlier call; re-reading showed it "
                        "had been applied.",
                    )
                return _finish(
                    entry,
                    state=State.FAILED,
                    error=(
                        f"Needs review: a call to Shopify (key {key}) may have been applied "
                        f"before this worker restarted; Shopify expected {change_from} → "
                        f"{None if change_from is None else change_from + entry.delta} and now "
                        f"shows {current}. Check the item's inventory history in Shopify, "
                        "then Retry to apply it again, or leave it."
                    ),
                )
            # Refused as stale: nothing was applied. Try again from what Shopify holds now.
            Entry.objects.filter(pk=entry.pk, attempt_key=key).update(attempt_key="")
            entry.refresh_from_db()
            change_from = current
            if current is None:
                return _finish(
                    entry, state=State.FAILED, error="Shopify no longer stocks this item here."
                )
            continue
        except TransientError as exc:
            # The call may or may not have reached Shopify: keep the attempt in doubt.
            Entry.objects.filter(pk=entry.pk).update(error=f"Will retry: {exc}")
            raise
        except MarketplaceError as exc:
            if exc.code == "IDEMPOTENCY_CONCURRENT_REQUEST":
                Entry.objects.filter(pk=entry.pk).update(error=f"Will retry: {exc}")
                return Entry.objects.get(pk=entry.pk)
            if in_doubt and exc.code == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH":
                return _finish(entry, state=State.FAILED, error=f"Needs review: {exc}")
            # Shopify refused the change as a whole (userErrors, 4xx): nothing was applied.
            Entry.objects.filter(pk=entry.pk, attempt_key=key).update(attempt_key="")
            return _finish(entry, state=State.FAILED, error=str(exc))
        return _mark_applied(entry, key, after)
    return _finish(
        entry,
        state=State.PENDING,
        error=f"Shopify's stock kept changing during {MAX_STALE_RETRIES} attempts; will retry.",
    )


def _mirrored_available(entry: OrderStockEntry) -> int | None:
    if not entry.variant_id or not entry.location_id:
        return None
    return (
        InventoryLevel.objects.filter(variant_id=entry.variant_id, location_id=entry.location_id)
        .values_list("available", flat=True)
        .first()
    )


def _read_available(client: ShopifyClient, entry: OrderStockEntry) -> int | None:
    stock = client.inventory_levels_for_items([entry.inventory_item_id]).get(
        entry.inventory_item_id
    )
    return None if stock is None else stock.available.get(entry.shopify_location_id)


def _mark_applied(entry: OrderStockEntry, key: str, after: int, note: str = ""):
    now = timezone.now()
    with transaction.atomic():
        done = (
            Entry.objects.filter(pk=entry.pk, attempt_key=key)
            .exclude(state=State.APPLIED)
            .update(
                state=State.APPLIED,
                attempt_key="",
                quantity_after=after,
                applied_at=now,
                error="",
                **({"note": note[:255]} if note else {}),
            )
        )
        if done and entry.variant_id and entry.location_id:
            # Mirror Shopify's answer in the same transaction that releases the reserved units,
            # so no recompute ever sees the sale both reserved and still in stock, or neither.
            InventoryLevel.objects.filter(
                variant_id=entry.variant_id, location_id=entry.location_id, updated_at__lte=now
            ).update(available=after, updated_at=now)
            variant_id = entry.variant_id
            transaction.on_commit(lambda: _recompute(variant_ids={variant_id}))
    return Entry.objects.get(pk=entry.pk)


def _finish(entry: OrderStockEntry, *, state: str, error: str = "", note: str = ""):
    fields = {"state": state, "error": error}
    if note:
        fields["note"] = note[:255]
    Entry.objects.filter(pk=entry.pk).exclude(state=State.APPLIED).update(**fields)
    if state == State.SKIPPED and entry.variant_id and entry.action == Action.DECREMENT:
        _recompute(variant_ids={entry.variant_id})  # its reserved units are released
    return Entry.objects.get(pk=entry.pk)


# --- admin operations --------------------------------------------------------------------------


def retry_order_items(*, entry_ids: Iterable[int], acting_user=None) -> list[int]:
    """Put failed ledger entries back to pending (admin "Retry"); returns the ids to apply.

    A "needs review" entry loses its in-doubt attempt: retrying is the merchant's decision that
    the earlier call did not reach Shopify, so the next run sends a fresh one. An entry that
    had no location gets one from the location rule again.
    """
    retried = []
    who = getattr(acting_user, "get_username", lambda: "Stocklink")()
    for entry in Entry.objects.filter(pk__in=list(entry_ids), state=State.FAILED).select_related(
        "order_item__listing__selling_list__profile", "order_item__listing__variant"
    ):
        with transaction.atomic():
            locked = Entry.objects.select_for_update().get(pk=entry.pk)
            if locked.state != State.FAILED:
                continue
            locked.state = State.PENDING
            locked.attempt_key = ""
            locked.error = ""
            locked.note = f"Retried by {who} at {timezone.now():%Y-%m-%d %H:%M} UTC"[:255]
            listing = entry.order_item.listing
            if locked.inventory_item_id is None and listing is not None:
                _place(locked, listing)
            locked.save()
        retried.append(entry.pk)
    return retried


def _recompute(*, variant_ids=None, listing_ids=None, force: bool = False) -> None:
    """Recompute the affected listings with reason "order" (the sync engine pushes if needed)."""
    if not variant_ids and not listing_ids:
        return
    from .services import recompute_listings

    recompute_listings(
        variant_ids=set(variant_ids) if variant_ids else None,
        listing_ids=set(listing_ids) if listing_ids else None,
        reason="order",
        force=force,
    )
