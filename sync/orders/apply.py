"""The stock ledger → Shopify, exactly once (DESIGN.md flow 6).

    order_entries_apply_pending(account=...) ledger entries → inventoryAdjustQuantities, once each
    order_entry_apply(entry_id=...)         one ledger entry, exactly once (see below)
    order_entries_retry(entry_ids=...)       failed entries back to pending (admin "Retry")

Before each Shopify call the entry records the call's `@idempotent` key and the quantity it
expects Shopify to hold (`changeFromQuantity`), in a committed write. A worker that dies after
the call leaves that attempt "in doubt"; the next run sends the very same request: Shopify
replays the first result instead of applying it again. Should Shopify's idempotency fail,
`changeFromQuantity` makes the resend stale instead of applied, and a re-read that shows the
expected quantity minus the sale proves the first call went through. Anything else in doubt is
flagged for review rather than written twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import AmazonAccount, InventoryLevel

from ..clients.errors import MarketplaceError, RateLimited, TransientError
from ..clients.factory import shopify_client
from ..clients.protocols import ShopifyApi
from ..clients.shopify_data import StaleQuantity
from .intake import recompute_for_orders
from .models import OrderStockEntry
from .placement import place_entry

logger = logging.getLogger(__name__)

Entry = OrderStockEntry
State = OrderStockEntry.State
Action = OrderStockEntry.Action

# A lease longer than any one Shopify call (timeouts are 5 s + 30 s, with retries inside).
LEASE = timedelta(minutes=5)
# changeFromQuantity can go stale while Shopify sells the same item; re-read and try again.
MAX_STALE_RETRIES = 5
REFERENCE_URI = "gid://stocklink/AmazonOrder/{order_id}"


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


def order_entries_apply_pending(
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
                    entry = order_entry_apply(entry_id=pk, client=client)
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


def order_entry_apply(*, entry_id: int, client: ShopifyApi | None = None) -> OrderStockEntry:
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


def _apply_claimed(entry: OrderStockEntry, client: ShopifyApi, lease: datetime):
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


def _read_available(client: ShopifyApi, entry: OrderStockEntry) -> int | None:
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
            transaction.on_commit(lambda: recompute_for_orders(variant_ids={variant_id}))
    return Entry.objects.get(pk=entry.pk)


def _finish(entry: OrderStockEntry, *, state: str, error: str = "", note: str = ""):
    fields = {"state": state, "error": error}
    if note:
        fields["note"] = note[:255]
    Entry.objects.filter(pk=entry.pk).exclude(state=State.APPLIED).update(**fields)
    if state == State.SKIPPED and entry.variant_id and entry.action == Action.DECREMENT:
        recompute_for_orders(variant_ids={entry.variant_id})  # its reserved units are released
    return Entry.objects.get(pk=entry.pk)


# --- admin operations --------------------------------------------------------------------------


def order_entries_retry(*, entry_ids: Iterable[int], acting_user=None) -> list[int]:
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
                place_entry(locked, listing)
            locked.save()
        retried.append(entry.pk)
    return retried
