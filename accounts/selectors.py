"""Reads of the Shopify mirror shared by the admin, the sync engine and the tasks."""

from collections import defaultdict
from collections.abc import Iterable

from profiles.rules import StockSnapshot

from .bulk import id_set
from .models import InventoryLevel, MetafieldValue, Variant


def stock_snapshots(
    variant_ids: Iterable[int],
    *,
    metafield_keys: Iterable[str] = (),
    reserved: dict[int, int] | None = None,
) -> dict[int, StockSnapshot]:
    """Stock snapshots for many variants in three queries, whatever their number (the ids go
    as one parameter, `accounts.bulk.id_set`).

    `metafield_keys` are the "namespace.key" strings the rules need. `reserved` maps a variant
    id to the quantity sold on Amazon but not yet taken off in Shopify.
    """
    ids = list(set(variant_ids))
    if not ids:
        return {}
    variants = dict(
        Variant.objects.filter(pk__in=id_set(ids)).order_by().values_list("pk", "tracked")
    )
    levels: dict[int, dict[int, int]] = defaultdict(dict)
    for variant_id, location_id, available in (
        InventoryLevel.objects.filter(variant_id__in=id_set(ids), location__is_active=True)
        .order_by()
        .values_list("variant_id", "location_id", "available")
    ):
        levels[variant_id][location_id] = available
    metafields: dict[int, dict[str, str]] = defaultdict(dict)
    keys = {tuple(k.split(".", 1)) for k in metafield_keys if "." in k}
    if keys:
        for variant_id, namespace, key, value in MetafieldValue.objects.filter(
            variant_id__in=id_set(ids),
            namespace__in={n for n, _ in keys},
            key__in={k for _, k in keys},
        ).values_list("variant_id", "namespace", "key", "value"):
            metafields[variant_id][f"{namespace}.{key}"] = value
    reserved = reserved or {}
    # Variants with the same stock share one snapshot, so a caller can compute a Result once
    # per distinct snapshot (most of a catalogue shares a handful of levels).
    shared: dict[tuple, StockSnapshot] = {}
    snapshots = {}
    for pk in ids:
        found_levels = levels.get(pk, {})
        found_metafields = metafields.get(pk, {})
        key = (
            tuple(sorted(found_levels.items())),
            variants.get(pk, False),
            tuple(sorted(found_metafields.items())),
            pk in variants,
            reserved.get(pk, 0),
        )
        snapshot = shared.get(key)
        if snapshot is None:
            snapshot = shared[key] = StockSnapshot(
                levels=found_levels,
                tracked=key[1],
                metafields=found_metafields,
                exists=key[3],
                reserved=key[4],
            )
        snapshots[pk] = snapshot
    return snapshots
