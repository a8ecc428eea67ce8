"""Import of the Shopify catalogue into our mirror: locations, products, variants, levels.

Paged GraphQL reads for small shops, a bulk operation for large ones. Rows are upserted in
batches, so the number of queries grows with batches, not with variants.
"""

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.bulk import column_in, id_set, upsert_rows
from accounts.models import InventoryLevel, Location, MetafieldValue, Product, ShopifyStore, Variant
from profiles.models import GlobalProfile, StockSource

from ..clients.factory import shopify_client
from ..clients.protocols import ShopifyApi
from ..clients.shopify_data import VariantStock
from ..models import PushReason
from ..outbox.recompute import listings_recompute

BATCH = 5000
# Above this many variants already mirrored, a re-import uses a bulk operation.
BULK_THRESHOLD = 5000
DEFAULT_METAFIELD = ("stocklink", "amazon_qty")


@dataclass
class ImportSummary:
    locations: int = 0
    variants: int = 0
    levels: int = 0
    variant_ids: set[int] = field(default_factory=set)
    recompute_seconds: float = 0.0  # of the listings fed by these variants

    def __str__(self):
        variants = ngettext("%(n)d variant", "%(n)d variants", self.variants)
        levels = ngettext("%(n)d inventory level", "%(n)d inventory levels", self.levels)
        locations = ngettext("%(n)d location", "%(n)d locations", self.locations)
        return (
            f"{variants % {'n': self.variants}}, {levels % {'n': self.levels}} "
            f"at {locations % {'n': self.locations}}"
        )


def metafield_keys_for(store: ShopifyStore) -> list[tuple[str, str]]:
    """The metafields that profiles read stock from (the default one first)."""
    keys = [DEFAULT_METAFIELD]
    for key in (
        GlobalProfile.objects.filter(source=StockSource.METAFIELD)
        .exclude(metafield_key="")
        .values_list("metafield_key", flat=True)
        .distinct()
    ):
        pair = tuple(key.split(".", 1))
        if pair not in keys:
            keys.append(pair)
    return keys


@dataclass(frozen=True)
class StartedRead:
    """A bulk read of the catalogue started ahead (`catalogue_read_start`)."""

    operation_id: str
    as_of: datetime  # when it was started: its rows are no older


def catalogue_read_start(store: ShopifyStore) -> StartedRead:
    """Start the bulk operation a bulk `catalogue_import` reads: Shopify builds the file while
    the caller does other work (the reconcile reads Amazon back); pass it as `started`."""
    as_of = timezone.now()
    client = shopify_client(store)
    try:
        operation = client.start_variants_bulk(metafield=metafield_keys_for(store)[0])
    finally:
        client.close()
    return StartedRead(operation, as_of)


def catalogue_import(
    *,
    store: ShopifyStore,
    bulk: bool | None = None,
    reason: str = PushReason.CATALOGUE,
    started: StartedRead | None = None,
) -> ImportSummary:
    """Read the whole catalogue of `store` from Shopify into the mirror, then recompute.

    `bulk` None chooses: a bulk operation once the shop has more than BULK_THRESHOLD variants.
    `started`, from `catalogue_read_start`, is read instead of starting one. Listings fed by a
    variant whose stock changed are recomputed (and pushed if needed), with `reason` (the
    reconcile passes its own).

    Levels are stamped with the time the read began: a webhook about a later change, applied
    while Shopify was still reading or after, is kept (a level already stamped later is not
    overwritten), and one about an earlier change loses to the read.
    """
    as_of = started.as_of if started else timezone.now()
    client = shopify_client(store)
    summary = ImportSummary()
    locations = _import_locations(store, client)
    summary.locations = sum(1 for loc in locations.values() if loc.is_active)
    if bulk is None:
        bulk = started is not None or store.variants.count() > BULK_THRESHOLD

    keys = metafield_keys_for(store)
    first, *others = keys
    operation = started.operation_id if started else None
    rows = client.iter_variants(metafield=first, bulk=bulk, bulk_operation=operation)
    for batch in _batched(rows, BATCH):
        ids, levels = _upsert_variants(store, batch, locations, metafield=first, as_of=as_of)
        summary.variants += len(batch)
        summary.levels += levels
        summary.variant_ids |= ids
    # Further metafields used by profiles: one more read each, values only.
    for key in others:
        for batch in _batched(client.iter_variants(metafield=key, bulk=bulk), BATCH):
            _upsert_metafields(store, batch, key)

    ShopifyStore.objects.filter(pk=store.pk).update(catalogue_imported_at=timezone.now())
    began = time.monotonic()
    listings_recompute(variant_ids=summary.variant_ids, reason=reason)
    summary.recompute_seconds = time.monotonic() - began
    return summary


def _batched(rows: Iterable[VariantStock], size: int) -> Iterator[list[VariantStock]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _import_locations(store: ShopifyStore, client: ShopifyApi) -> dict[int, Location]:
    remote = client.locations()
    Location.objects.bulk_create(
        [
            Location(store=store, shopify_id=loc.id, name=loc.name, is_active=loc.is_active)
            for loc in remote
        ],
        update_conflicts=True,
        unique_fields=["store", "shopify_id"],
        update_fields=["name", "is_active"],
    )
    return {loc.shopify_id: loc for loc in Location.objects.filter(store=store)}


@transaction.atomic
def _upsert_variants(
    store: ShopifyStore,
    batch: list[VariantStock],
    locations: dict[int, Location],
    *,
    metafield,
    as_of: datetime,
) -> tuple[set[int], int]:
    """Products, variants, levels and the metafield of a batch: a constant number of set-based
    statements (accounts.bulk), no model objects; a product or variant Shopify did not change
    is not rewritten."""
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    titles = {row.product_id: row.product_title for row in batch}
    upsert_rows(
        Product,
        ["store_id", "shopify_id", "title"],
        [(store.pk, shopify_id, title) for shopify_id, title in titles.items()],
        unique=["store_id", "shopify_id"],
        update=["title"],
        changed_only=True,
    )
    products = _pks_by_shopify_id(Product, store, titles)
    upsert_rows(
        Variant,
        [
            "store_id",
            "shopify_id",
            "product_id",
            "product_title",
            "title",
            "sku",
            "inventory_item_id",
            "tracked",
            "inventory_policy",
            "updated_at",
        ],
        [
            (
                store.pk,
                row.id,
                products[row.product_id],
                row.product_title,
                row.title,
                row.sku,
                row.inventory_item_id,
                row.tracked,
                row.inventory_policy or "DENY",
                connection.ops.adapt_datetimefield_value(row.updated_at)
                if row.updated_at
                else stamp,
            )
            for row in batch
        ],
        unique=["store_id", "shopify_id"],
        update=[
            "product_id",
            "product_title",
            "title",
            "sku",
            "inventory_item_id",
            "tracked",
            "inventory_policy",
            "updated_at",
        ],
        changed_only=True,
    )
    variants = _pks_by_shopify_id(Variant, store, (row.id for row in batch))
    # Every level is stamped with the time this read began (older webhooks then lose to it);
    # one a webhook wrote since then is newer than what the read saw, and stays.
    read_at = connection.ops.adapt_datetimefield_value(as_of)
    levels = [
        (variants[row.id], locations[location_id].pk, available, read_at)
        for row in batch
        for location_id, available in row.available.items()
        if location_id in locations
    ]
    upsert_rows(
        InventoryLevel,
        ["variant_id", "location_id", "available", "updated_at"],
        levels,
        unique=["variant_id", "location_id"],
        update=["available", "updated_at"],
        newer_only="updated_at",
    )
    # A level Shopify no longer reports (item disconnected from a location) is gone.
    stale = InventoryLevel.objects.filter(
        column_in(InventoryLevel, "variant_id", variants.values()), updated_at__lt=as_of
    )
    stale.delete()
    _upsert_metafields(store, batch, metafield, variants=variants, stamp=stamp)
    return set(variants.values()), len(levels)


def _pks_by_shopify_id(model, store: ShopifyStore, shopify_ids: Iterable[int]) -> dict[int, int]:
    """Our id of each of these Shopify ids of `store`'s products or variants, in one query."""
    return dict(
        model.objects.filter(store=store, shopify_id__in=id_set(shopify_ids)).values_list(
            "shopify_id", "pk"
        )
    )


def _upsert_metafields(store, batch, key, *, variants=None, stamp=None) -> None:
    namespace, name = key
    if stamp is None:
        stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    if variants is None:
        variants = _pks_by_shopify_id(Variant, store, (row.id for row in batch))
    upsert_rows(
        MetafieldValue,
        ["variant_id", "namespace", "key", "value", "updated_at"],
        [
            (variants[row.id], namespace, name, row.metafield_value, stamp)
            for row in batch
            if row.metafield_value is not None and row.id in variants
        ],
        unique=["variant_id", "namespace", "key"],
        update=["value", "updated_at"],
    )
    gone = [variants[row.id] for row in batch if row.metafield_value is None and row.id in variants]
    if gone:
        MetafieldValue.objects.filter(
            column_in(MetafieldValue, "variant_id", gone), namespace=namespace, key=name
        ).delete()
