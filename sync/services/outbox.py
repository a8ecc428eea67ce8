"""Recompute listings and write the outbox: the target quantity lands in the same transaction as
the change that caused it (DESIGN.md, "Outbox" and "Coalescing").

    recompute_listings(listing_ids=..., variant_ids=..., reason=...)
    apply_inventory_levels(store=..., levels=[LevelUpdate(...)])
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AmazonAccount, InventoryLevel, Location, ShopifyStore, Variant
from profiles.rules import Result, Rule
from selling_lists.models import FulfillmentChannel, Listing, ListingStatus, SellingList
from selling_lists.selectors import compute_results

from ..models import IN_FLIGHT_STATES, PushReason, PushState, QtyPush

logger = logging.getLogger(__name__)

# Listings recomputed per transaction: big enough that 100k listings take ~50 batches (queries
# grow with batches, not rows), small enough to keep each write transaction short.
BATCH_SIZE = int(getattr(settings, "SYNC_RECOMPUTE_BATCH_SIZE", 2000))

# Reasons a merchant asked for explicitly: they are queued even when automatic updates are off
# and for static modes (single, fixed), which seed 000 updates only by hand.
EXPLICIT_REASONS = frozenset({PushReason.MANUAL, PushReason.PROFILE_CHANGE})


@dataclass
class RecomputeSummary:
    """What a recompute did, in counts a merchant can read."""

    listings: int = 0
    queued: int = 0  # pending pushes written or replaced
    unchanged: int = 0  # Amazon has (or is being sent) the target already
    held: int = 0  # differs, but not sent automatically (auto updates off, static mode)
    sync_off: int = 0
    fba: int = 0
    stock_missing: int = 0  # policy "keep": Amazon is left as it is
    not_retried: int = 0  # failed or not on Amazon, target unchanged: waits for Update Qty
    queued_account_ids: set[int] = field(default_factory=set)
    sync_off_account_ids: set[int] = field(default_factory=set)

    def add(self, other: RecomputeSummary) -> None:
        for name in (
            "listings",
            "queued",
            "unchanged",
            "held",
            "sync_off",
            "fba",
            "stock_missing",
            "not_retried",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.queued_account_ids |= other.queued_account_ids
        self.sync_off_account_ids |= other.sync_off_account_ids


@dataclass(frozen=True)
class Decision:
    """What to do with one listing after its Result was computed (see `decide`)."""

    status: str
    message: str = ""
    queue: bool = False
    supersede_pending: str = ""  # why the pending push is dropped ("" = keep it)
    outcome: str = "unchanged"  # the RecomputeSummary counter it adds to


def sync_off_reason(listing: Listing) -> str:
    """Why nothing may be sent for this listing, or "" when sync is on (DESIGN.md, Switches)."""
    if not listing.amazon_account.inventory_sync_enabled:
        return (
            f"Sync off: “Keep inventory in sync from Shopify to Amazon” is off for "
            f"{listing.amazon_account}."
        )
    if listing.selling_list.paused:
        return f"Sync off: the Selling List “{listing.selling_list}” is paused."
    if listing.paused:
        return "Sync off: this listing is paused."
    return ""


def decide(
    listing: Listing,
    rule: Rule,
    result: Result,
    *,
    reason: str,
    force: bool,
    told: int | None,
    in_flight: bool,
    pending_quantity: int | None,
    previous_target: int | None,
) -> Decision:
    """The switches and the outbox rules for one listing, without the database.

    `told` is what Amazon was last told or is being told (an in-flight push wins over
    `last_sent_quantity`); `pending_quantity` is the target of its pending push, if any.
    """
    settled = (
        ListingStatus.PENDING
        if in_flight or pending_quantity is not None
        else listing.status
        if listing.status in (ListingStatus.FAILED, ListingStatus.NOT_ON_AMAZON)
        else ListingStatus.LINKED
    )
    if listing.fulfillment_channel == FulfillmentChannel.FBA:
        return Decision(
            ListingStatus.FBA, "", supersede_pending="FBA: Amazon manages it", outcome="fba"
        )
    off = sync_off_reason(listing)
    if off:
        return Decision(ListingStatus.SYNC_OFF, off, supersede_pending=off, outcome="sync_off")
    target = result.quantity
    if target is None:
        # Policy "keep": leave Amazon as it is and flag the listing.
        message = f"{result.trace[0]}. Amazon's quantity is left as it is."
        if pending_quantity is not None:
            settled = ListingStatus.PENDING if in_flight else _after_drop(listing)
        return Decision(
            settled, message, supersede_pending="stock missing", outcome="stock_missing"
        )
    explicit = force or reason in EXPLICIT_REASONS
    if not explicit and rule.is_static:
        message = "" if target == told else "Static mode: sent only by “Update Qty”."
        return Decision(settled, message, outcome="held" if message else "unchanged")
    if not explicit and not listing.amazon_account.auto_update_qty:
        message = (
            "" if target == told else f"Automatic updates are off: “Update Qty” sends {target}."
        )
        return Decision(settled, message, outcome="held" if message else "unchanged")
    if (
        not explicit
        and reason != PushReason.RECONCILE  # reconcile retries them against what Amazon shows
        and pending_quantity is None
        and listing.status in (ListingStatus.FAILED, ListingStatus.NOT_ON_AMAZON)
        and target == previous_target
    ):
        # Amazon refused this very target: do not resend it on every stock event.
        return Decision(listing.status, listing.status_message, outcome="not_retried")
    if target == told and not force:
        if pending_quantity is not None and pending_quantity != target:
            return Decision(
                ListingStatus.PENDING if in_flight else _after_drop(listing),
                "",
                supersede_pending=f"Amazon already has {target}",
            )
        return Decision(settled, "" if settled == ListingStatus.LINKED else listing.status_message)
    if pending_quantity == target and not force:
        # Already queued with this very number: keep that push (and its reason and trace).
        return Decision(ListingStatus.PENDING, "")
    return Decision(ListingStatus.PENDING, "", queue=True, outcome="queued")


def _after_drop(listing: Listing) -> str:
    if listing.status in (ListingStatus.FAILED, ListingStatus.NOT_ON_AMAZON):
        return listing.status
    return ListingStatus.LINKED


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _listing_ids(listing_ids, variant_ids) -> list[int]:
    ids: set[int] = set()
    if listing_ids is not None:
        wanted = sorted(set(listing_ids))
        for chunk in _chunks(wanted, BATCH_SIZE * 5):
            ids.update(Listing.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    if variant_ids is not None:
        wanted = sorted(set(variant_ids))
        for chunk in _chunks(wanted, BATCH_SIZE * 5):
            ids.update(Listing.objects.filter(variant_id__in=chunk).values_list("pk", flat=True))
    return sorted(ids)


def recompute_listings(
    *,
    listing_ids: Iterable[int] | None = None,
    variant_ids: Iterable[int] | None = None,
    reason: str,
    acting_user=None,
    force: bool = False,
) -> RecomputeSummary:
    """Recompute the Result of these listings (and of every listing fed by these variants) and
    queue a push wherever Amazon must be told a new quantity.

    Per batch of `BATCH_SIZE` listings, in one transaction: the listings' computed quantity,
    status and flags are saved and the pending push is written or replaced (at most one per
    listing; a newer target replaces the quantity of the pending one). The switches decide what
    may be queued (see `decide`): sync off, paused and FBA → nothing; automatic updates off and
    static modes → only explicit reasons (manual, profile change) or `force`. `force` (manual
    Update Qty) queues the Result even when Amazon was already told that number.

    A worker is asked to send (on commit) for every account that got a push.
    """
    if listing_ids is None and variant_ids is None:
        raise ValueError("recompute_listings needs listing_ids or variant_ids")
    reason = PushReason(reason)
    summary = RecomputeSummary()
    for chunk in _chunks(_listing_ids(listing_ids, variant_ids), BATCH_SIZE):
        summary.add(_recompute_batch(chunk, reason=reason, acting_user=acting_user, force=force))
    if summary.queued_account_ids:
        from ..tasks import send_pending

        for account_id in sorted(summary.queued_account_ids):
            send_pending.delay_on_commit(account_id)
    return summary


def _recompute_batch(ids: list[int], *, reason: str, acting_user, force: bool) -> RecomputeSummary:
    summary = RecomputeSummary()
    now = timezone.now()
    with transaction.atomic():
        queryset = Listing.objects.filter(pk__in=ids)
        if connection.features.has_select_for_update:
            # Serialises with other recomputes and with claimers (which lock the listing too),
            # so a pending push is never replaced while a worker takes it.
            queryset = queryset.select_for_update()
        listings = list(queryset)
        if not listings:
            return summary
        _attach_lists_and_accounts(listings)
        results = compute_results(listings)  # reserved order quantities included
        in_flight: dict[int, int] = {}
        for listing_id, quantity in (
            QtyPush.objects.filter(listing_id__in=ids, state__in=IN_FLIGHT_STATES)
            .order_by("pk")
            .values_list("listing_id", "quantity")
        ):
            in_flight[listing_id] = quantity  # the newest in-flight push wins
        pending = {
            push.listing_id: push
            for push in QtyPush.objects.filter(listing_id__in=ids, state=PushState.PENDING)
        }

        new_pushes: list[dict] = []
        replaced: list[QtyPush] = []
        drop: dict[str, list[int]] = defaultdict(list)
        changed: list[Listing] = []
        for listing in listings:
            rule, result = results[listing.pk]
            push = pending.get(listing.pk)
            before = _recorded(listing)
            if listing.pk in in_flight:
                told = in_flight[listing.pk]
            elif reason == PushReason.RECONCILE and listing.amazon_quantity is not None:
                told = listing.amazon_quantity  # reconcile repairs drift: compare with Amazon
            elif listing.last_sent_quantity is not None:
                told = listing.last_sent_quantity
            else:
                told = listing.amazon_quantity
            decision = decide(
                listing,
                rule,
                result,
                reason=reason,
                force=force,
                told=told,
                in_flight=listing.pk in in_flight,
                pending_quantity=push.quantity if push else None,
                previous_target=listing.computed_quantity,
            )
            summary.listings += 1
            setattr(summary, decision.outcome, getattr(summary, decision.outcome) + 1)
            if decision.outcome == "sync_off" and not listing.amazon_account.inventory_sync_enabled:
                summary.sync_off_account_ids.add(listing.amazon_account_id)
            listing.computed_quantity = result.quantity
            listing.stock_missing = result.stock_missing
            listing.status = decision.status
            listing.status_message = decision.message
            if _recorded(listing) != before:
                changed.append(listing)
            if decision.supersede_pending and push is not None:
                drop[decision.supersede_pending].append(push.pk)
            if not decision.queue:
                continue
            summary.queued_account_ids.add(listing.amazon_account_id)
            if push is not None:
                push.quantity = result.quantity
                push.previous_quantity = told
                push.trace = list(result.trace)
                push.reason = reason
                push.created_by = acting_user
                push.updated_at = now
                replaced.append(push)
            else:
                new_pushes.append(
                    {
                        "listing_id": listing.pk,
                        "account_id": listing.amazon_account_id,
                        "quantity": result.quantity,
                        "previous_quantity": told,
                        "trace": list(result.trace),
                    }
                )

        _write_recorded(changed, now)
        for why, push_ids in drop.items():
            QtyPush.objects.filter(pk__in=push_ids, state=PushState.PENDING).update(
                state=PushState.SUPERSEDED, message=f"Not sent: {why}.", updated_at=now
            )
        if replaced:
            QtyPush.objects.bulk_update(
                replaced,
                ["quantity", "previous_quantity", "trace", "reason", "created_by", "updated_at"],
                batch_size=500,
            )
        _insert_pushes(new_pushes, reason=reason, acting_user=acting_user, now=now)
        summary.queued = len(new_pushes) + len(replaced)
    return summary


# --- stock ingestion ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelUpdate:
    """Shopify's `available` of one inventory item at one location, as of `updated_at`.

    `available` None means the item is no longer stocked there (inventory_levels/disconnect).
    """

    inventory_item_id: int
    location_id: int  # Shopify's location id
    available: int | None
    updated_at: datetime


@dataclass
class IngestSummary:
    levels_changed: int = 0
    stale: int = 0
    unknown: int = 0  # items or locations not in the mirror (the next import brings them)
    variant_ids: set[int] = field(default_factory=set)
    recompute: RecomputeSummary | None = None


def apply_inventory_levels(
    *,
    store: ShopifyStore,
    levels: Iterable[LevelUpdate],
    tracked: Mapping[int, bool] | None = None,
    reason: str = PushReason.STOCK_CHANGE,
    acting_user=None,
) -> IngestSummary:
    """Mirror Shopify stock levels, ignoring any older than what we hold, then recompute.

    A level is written only when its `updated_at` is newer than ours (a late or reordered
    delivery never overwrites a newer read). Listings of every variant whose stock or tracked
    flag changed are recomputed in the same transaction, so the pushes they need are queued
    atomically with the stock that caused them. `tracked` maps inventory item ids to Shopify's
    "inventory tracked" flag, when the source knows it.
    """
    levels = list(levels)
    tracked = dict(tracked or {})
    summary = IngestSummary()
    if not levels and not tracked:
        return summary
    if any(timezone.is_naive(level.updated_at) for level in levels):
        raise ValueError("apply_inventory_levels needs aware datetimes")
    item_ids = {level.inventory_item_id for level in levels} | set(tracked)
    with transaction.atomic():
        variants = {
            v.inventory_item_id: v
            for v in Variant.objects.select_for_update().filter(
                store=store, inventory_item_id__in=item_ids
            )
        }
        locations = dict(
            Location.objects.filter(
                store=store, shopify_id__in={lv.location_id for lv in levels}
            ).values_list("shopify_id", "pk")
        )
        held = {
            (row.variant_id, row.location_id): row
            for row in InventoryLevel.objects.filter(variant__in=[v.pk for v in variants.values()])
        }
        # The newest update per (item, location) wins within one call too.
        newest: dict[tuple[int, int], LevelUpdate] = {}
        for level in levels:
            key = (level.inventory_item_id, level.location_id)
            if key not in newest or level.updated_at > newest[key].updated_at:
                newest[key] = level
        to_create, to_update, to_delete = [], [], []
        tracked_changed = []
        for item_id, flag in tracked.items():
            variant = variants.get(item_id)
            if variant is not None and variant.tracked != flag:
                variant.tracked = flag
                tracked_changed.append(variant)
                summary.variant_ids.add(variant.pk)
        for level in newest.values():
            variant = variants.get(level.inventory_item_id)
            location_pk = locations.get(level.location_id)
            if variant is None or location_pk is None:
                summary.unknown += 1
                continue
            row = held.get((variant.pk, location_pk))
            if row is not None and row.updated_at >= level.updated_at:
                summary.stale += 1
                continue
            if level.available is None:
                if row is not None:
                    to_delete.append(row.pk)
                    summary.variant_ids.add(variant.pk)
                    summary.levels_changed += 1
                continue
            if row is None:
                to_create.append(
                    InventoryLevel(
                        variant=variant,
                        location_id=location_pk,
                        available=level.available,
                        updated_at=level.updated_at,
                    )
                )
                summary.variant_ids.add(variant.pk)
                summary.levels_changed += 1
            else:
                if row.available != level.available:
                    summary.variant_ids.add(variant.pk)
                    summary.levels_changed += 1
                row.available = level.available
                row.updated_at = level.updated_at
                to_update.append(row)
        if tracked_changed:
            Variant.objects.bulk_update(tracked_changed, ["tracked"])
        if to_delete:
            InventoryLevel.objects.filter(pk__in=to_delete).delete()
        if to_update:
            InventoryLevel.objects.bulk_update(to_update, ["available", "updated_at"], 500)
        if to_create:
            InventoryLevel.objects.bulk_create(to_create, batch_size=500)
        if summary.variant_ids:
            summary.recompute = recompute_listings(
                variant_ids=summary.variant_ids, reason=reason, acting_user=acting_user
            )
    return summary


def _attach_lists_and_accounts(listings: list[Listing]) -> None:
    """Give each listing its Selling List (with profile) and account from one load of each.

    A batch shares a handful of lists and accounts: building them once, instead of once per
    row through select_related, is most of a large recompute's time. The accounts come without
    their secrets: only the switches are needed, and decrypting costs per object.
    """
    lists = SellingList.objects.select_related("profile").in_bulk(
        {listing.selling_list_id for listing in listings}
    )
    accounts = AmazonAccount.objects.defer("lwa_client_secret", "refresh_token").in_bulk(
        {listing.amazon_account_id for listing in listings}
    )
    for listing in listings:
        listing.selling_list = lists[listing.selling_list_id]
        listing.amazon_account = accounts[listing.amazon_account_id]


def _insert_pushes(rows: list[dict], *, reason: str, acting_user, now) -> None:
    """Insert new pending pushes with one executemany: a catalogue-wide change writes one per
    listing, and building a model and its SQL row by row was most of a large recompute.

    Every column but the five in `rows` is the same for the whole batch, so it is prepared once
    from a template push (defaults, reason, user, timestamps).
    """
    if not rows:
        return
    template = QtyPush(
        listing_id=0,
        account_id=0,
        quantity=0,
        reason=reason,
        created_by=acting_user,
        created_at=now,
        next_attempt_at=now,
    )
    fields = [f for f in QtyPush._meta.concrete_fields if not f.primary_key]
    prepared = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields]
    position = {f.attname: index for index, f in enumerate(fields)}
    trace_field = QtyPush._meta.get_field("trace")
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {QtyPush._meta.db_table} ({columns}) VALUES ({placeholders})"
    values = []
    for row in rows:
        line = list(prepared)
        for name in ("listing_id", "account_id", "quantity", "previous_quantity"):
            line[position[name]] = row[name]  # plain integers need no preparation
        line[position["trace"]] = trace_field.get_db_prep_save(row["trace"], connection)
        values.append(line)
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def _recorded(listing: Listing) -> tuple:
    return (
        listing.computed_quantity,
        listing.stock_missing,
        listing.status,
        listing.status_message,
    )


def _write_recorded(listings: list[Listing], now) -> None:
    """Store what a recompute changed, in one executemany UPDATE.

    Only rows whose Result or status moved are written (a catalogue-wide re-read changes few),
    and plain UPDATEs beat bulk_update's CASE WHEN per row and field by several times.
    """
    if not listings:
        return
    table = Listing._meta.db_table
    stamp = connection.ops.adapt_datetimefield_value(now)
    sql = (
        f"UPDATE {table} SET computed_quantity = %s, stock_missing = %s, status = %s, "
        "status_message = %s, computed_at = %s, updated_at = %s WHERE id = %s"
    )
    rows = [
        (
            lst.computed_quantity,
            lst.stock_missing,
            lst.status,
            lst.status_message,
            stamp,
            stamp,
            lst.pk,
        )
        for lst in listings
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def forget_amazon_side(*, listing: Listing) -> int:
    """The listing now points at another Amazon SKU or list: drop what the old one was told.

    Unsent and unconfirmed pushes were meant for the old SKU (or the old seller): superseded.
    Returns how many pushes were dropped.
    """
    now = timezone.now()
    dropped = QtyPush.objects.filter(
        listing_id=listing.pk, state__in=[PushState.PENDING, PushState.SENT]
    ).update(state=PushState.SUPERSEDED, message="The listing was re-linked.", updated_at=now)
    listing.last_sent_quantity = None
    listing.last_sent_at = None
    listing.amazon_quantity = None
    listing.asin = ""
    listing.status = ListingStatus.PENDING
    listing.status_message = ""
    return dropped
