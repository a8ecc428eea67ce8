"""Import of the Shopify catalogue into our mirror: locations, products, variants, levels.

Paged GraphQL reads for small shops, a bulk operation for large ones. Rows are upserted in
batches, so the number of queries grows with batches, not with variants.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import InventoryLevel, Location, MetafieldValue, Product, ShopifyStore, Variant
from profiles.models import GlobalProfile, StockSource

from ..clients.factory import shopify_client
from ..clients.protocols import ShopifyApi
from ..clients.shopify_data import VariantStock
from ..models import PushReason
from ..outbox.recompute import listings_recompute

BATCH = 1000
# Above this many variants already mirrored, a re-import uses a bulk operation.
BULK_THRESHOLD = 5000
DEFAULT_METAFIELD = ("stocklink", "amazon_qty")


@dataclass
class ImportSummary:
    locations: int = 0
    variants: int = 0
    levels: int = 0
    variant_ids: set[int] = field(default_factory=set)

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


def catalogue_import(
    *, store: ShopifyStore, bulk: bool | None = None, reason: str = PushReason.CATALOGUE
) -> ImportSummary:
    """Read the whole catalogue of `store` from Shopify into the mirror, then recompute.

    `bulk` None chooses: a bulk operation once the shop has more than BULK_THRESHOLD variants.
    Listings fed by a variant whose stock changed are recomputed (and pushed if needed), with
    `reason` (the reconcile passes its own).
    """
    client = shopify_client(store)
    summary = ImportSummary()
    locations = _import_locations(store, client)
    summary.locations = sum(1 for loc in locations.values() if loc.is_active)
    if bulk is None:
        bulk = store.variants.count() > BULK_THRESHOLD

    keys = metafield_keys_for(store)
    first, *others = keys
    rows = client.iter_variants(metafield=first, bulk=bulk)
    for batch in _batched(rows, BATCH):
        ids, levels = _upsert_variants(store, batch, locations, metafield=first)
        summary.variants += len(batch)
        summary.levels += levels
        summary.variant_ids |= ids
    # Further metafields used by profiles: one more read each, values only.
    for key in others:
        for batch in _batched(client.iter_variants(metafield=key, bulk=bulk), BATCH):
            _upsert_metafields(store, batch, key)

    ShopifyStore.objects.filter(pk=store.pk).update(catalogue_imported_at=timezone.now())
    listings_recompute(variant_ids=summary.variant_ids, reason=reason)
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
    store: ShopifyStore, batch: list[VariantStock], locations: dict[int, Location], *, metafield
) -> tuple[set[int], int]:
    now = timezone.now()
    Product.objects.bulk_create(
        {
            row.product_id: Product(store=store, shopify_id=row.product_id, title=row.product_title)
            for row in batch
        }.values(),
        update_conflicts=True,
        unique_fields=["store", "shopify_id"],
        update_fields=["title"],
    )
    products = dict(
        Product.objects.filter(
            store=store, shopify_id__in={r.product_id for r in batch}
        ).values_list("shopify_id", "pk")
    )
    Variant.objects.bulk_create(
        [
            Variant(
                store=store,
                product_id=products[row.product_id],
                shopify_id=row.id,
                title=row.title,
                sku=row.sku,
                inventory_item_id=row.inventory_item_id,
                tracked=row.tracked,
                inventory_policy=row.inventory_policy or "DENY",
                updated_at=row.updated_at or now,
            )
            for row in batch
        ],
        update_conflicts=True,
        unique_fields=["store", "shopify_id"],
        update_fields=[
            "product",
            "title",
            "sku",
            "inventory_item_id",
            "tracked",
            "inventory_policy",
            "updated_at",
        ],
    )
    variants = dict(
        Variant.objects.filter(store=store, shopify_id__in=[r.id for r in batch]).values_list(
            "shopify_id", "pk"
        )
    )
    levels = [
        InventoryLevel(
            variant_id=variants[row.id],
            location=locations[location_id],
            available=available,
            updated_at=now,
        )
        for row in batch
        for location_id, available in row.available.items()
        if location_id in locations
    ]
    InventoryLevel.objects.bulk_create(
        levels,
        update_conflicts=True,
        unique_fields=["variant", "location"],
        update_fields=["available", "updated_at"],
    )
    # A level Shopify no longer reports (item disconnected from a location) is gone.
    stale = InventoryLevel.objects.filter(variant_id__in=variants.values()).exclude(updated_at=now)
    stale.delete()
    _upsert_metafields(store, batch, metafield, variants=variants, now=now)
    return set(variants.values()), len(levels)


def _upsert_metafields(store, batch, key, *, variants=None, now=None) -> None:
    namespace, name = key
    now = now or timezone.now()
    if variants is None:
        variants = dict(
            Variant.objects.filter(store=store, shopify_id__in=[r.id for r in batch]).values_list(
                "shopify_id", "pk"
            )
        )
    present = [row for row in batch if row.metafield_value is not None and row.id in variants]
    MetafieldValue.objects.bulk_create(
        [
            MetafieldValue(
                variant_id=variants[row.id],
                namespace=namespace,
                key=name,
                value=row.metafield_value,
                updated_at=now,
            )
            for row in present
        ],
        update_conflicts=True,
        unique_fields=["variant", "namespace", "key"],
        update_fields=["value", "updated_at"],
    )
    MetafieldValue.objects.filter(
        variant_id__in=[
            variants[row.id] for row in batch if row.metafield_value is None and row.id in variants
        ],
        namespace=namespace,
        key=name,
    ).delete()
