"""Re-reading Shopify on demand and on a schedule, so no Result is computed from a stale copy.

    listings_refresh_stock(listing_ids=...)   Update Qty: re-read these listings' variants first
    metafields_refresh(store=...)             beat: metafield-sourced stock (no webhook covers it)

Both land what they read through the same paths as webhooks (`inventory_levels_apply`) and
the catalogue import (metafields), and recompute only what changed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import MetafieldValue, ShopifyStore, Variant
from profiles.models import StockSource
from selling_lists.models import Listing

from .. import conf
from ..clients.factory import shopify_client
from ..models import PushReason
from ..outbox.recompute import listings_recompute
from .catalogue import BATCH, _batched, _upsert_metafields
from .events import ProcessSummary, refresh_items

logger = logging.getLogger(__name__)


@dataclass
class RefreshSummary:
    """What a re-read of Shopify found, in counts a merchant can read."""

    listings: int = 0
    variants: int = 0  # variants re-read
    levels_changed: int = 0
    metafields_changed: int = 0
    stores: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self):
        text = (
            f"{self.variants} variant(s) re-read from Shopify: {self.levels_changed} stock "
            f"level(s) and {self.metafields_changed} metafield value(s) had changed"
        )
        return text + (f"; {'; '.join(self.errors)}" if self.errors else "")


def listings_refresh_stock(*, listing_ids: Iterable[int]) -> RefreshSummary:
    """Re-read Shopify's stock (levels, and metafields where the profile reads one) for these
    listings' variants, mirror what changed and recompute those listings.

    Update Qty calls this before it computes (finding 11 of the convergence issue: a held-back
    webhook left the stored copy behind). Raises `RateLimited`/`TransientError` from Shopify;
    the job retries. Listings without a variant are counted and skipped.
    """
    listings = list(
        Listing.objects.filter(pk__in=set(listing_ids), variant__isnull=False).select_related(
            "variant", "selling_list__profile"
        )
    )
    summary = RefreshSummary(listings=len(listings))
    by_store: dict[int, list[Listing]] = defaultdict(list)
    for listing in listings:
        by_store[listing.variant.store_id].append(listing)
    for store in ShopifyStore.objects.filter(pk__in=by_store):
        group = by_store[store.pk]
        item_ids = {listing.variant.inventory_item_id for listing in group}
        summary.stores += 1
        summary.variants += len(item_ids)
        client = shopify_client(store)
        try:
            read = ProcessSummary()
            refresh_items(store, client, item_ids, read)
            summary.levels_changed += read.levels_changed
            keys = {
                tuple(listing.selling_list.profile.metafield_key.split(".", 1))
                for listing in group
                if listing.selling_list.profile.source == StockSource.METAFIELD
                and listing.selling_list.profile.metafield_key
            }
            if keys:
                variant_ids = {listing.variant_id for listing in group}
                _, changed = _read_metafields(store, client, keys, variant_ids=variant_ids)
                summary.metafields_changed += changed
        finally:
            close = getattr(client, "close", None)
            if close:
                close()
    return summary


def metafield_stores() -> list[int]:
    """Stores with listings whose profile reads stock from a metafield."""
    return sorted(
        set(
            Listing.objects.filter(selling_list__profile__source=StockSource.METAFIELD).values_list(
                "selling_list__shopify_store_id", flat=True
            )
        )
    )


def metafields_refresh(*, store: ShopifyStore) -> RefreshSummary:
    """Re-read the metafields that profiles read stock from, write the values that changed
    and recompute the listings they feed (beat, every SYNC_METAFIELD_REFRESH_SECONDS).

    With SYNC_METAFIELD_INCREMENTAL, Shopify is asked only for variants updated since the
    previous refresh began (`productVariants(query: "updated_at:>…")`, less
    SYNC_METAFIELD_OVERLAP_SECONDS); the first refresh of a store, and a key no value was ever
    read for, read everything. Off by default: every value is read, only changes are written.
    Shopify sends no webhook for a metafield edit; the hourly reconcile's full catalogue read
    stays the safety net (docs/convergence.md). `metafields_read_at` says how fresh the source is.
    """
    summary = RefreshSummary(stores=1)
    keys = {
        tuple(key.split(".", 1))
        for key in Listing.objects.filter(
            selling_list__shopify_store=store, selling_list__profile__source=StockSource.METAFIELD
        )
        .exclude(selling_list__profile__metafield_key="")
        .values_list("selling_list__profile__metafield_key", flat=True)
        .distinct()
    }
    if not keys:
        return summary
    read_at = timezone.now()
    since = None
    if settings.SYNC_METAFIELD_INCREMENTAL and store.metafields_read_at:
        since = store.metafields_read_at - conf.metafield_overlap()
    client = shopify_client(store)
    try:
        for key in sorted(keys):
            seen = MetafieldValue.objects.filter(
                variant__store=store, namespace=key[0], key=key[1]
            ).exists()
            read, changed = _read_metafields(
                store, client, [key], updated_since=since if seen else None
            )
            summary.variants += read
            summary.metafields_changed += changed
    finally:
        close = getattr(client, "close", None)
        if close:
            close()
    ShopifyStore.objects.filter(pk=store.pk).update(metafields_read_at=read_at)
    return summary


def _read_metafields(
    store, client, keys, *, variant_ids=None, updated_since=None
) -> tuple[int, int]:
    """Read each metafield key for the store's variants (those updated after `updated_since`
    when given); returns (variants read, values changed).

    Values that changed are written and the listings of their variants recomputed.
    """
    read = 0
    changed_variants: set[int] = set()
    for key in sorted(keys):
        namespace, name = key
        rows = client.iter_variants(metafield=key, updated_since=updated_since)
        for batch in _batched(rows, BATCH):
            read += len(batch)
            variants = dict(
                Variant.objects.filter(
                    store=store, shopify_id__in=[row.id for row in batch]
                ).values_list("shopify_id", "pk")
            )
            if variant_ids is not None:
                variants = {sid: pk for sid, pk in variants.items() if pk in variant_ids}
            held = dict(
                MetafieldValue.objects.filter(
                    variant_id__in=variants.values(), namespace=namespace, key=name
                ).values_list("variant_id", "value")
            )
            moved = [
                row
                for row in batch
                if row.id in variants and held.get(variants[row.id]) != row.metafield_value
            ]
            if not moved:
                continue
            with transaction.atomic():
                _upsert_metafields(store, moved, key, variants=variants)
                ids = {variants[row.id] for row in moved}
                changed_variants |= ids
                listings_recompute(variant_ids=ids, reason=PushReason.STOCK_CHANGE)
    return read, len(changed_variants)
