"""Reads of the Shopify mirror shared by the admin, the sync engine and the tasks."""

from collections import defaultdict
from collections.abc import Iterable

from profiles.rules import StockSnapshot

from .bulk import column_in
from .models import InventoryLevel, MetafieldValue, Variant


def stock_snapshots(
    variant_ids: Iterable[int],
    *,
    metafield_keys: Iterable[str] = (),
    reserved: dict[int, int] | None = None,
) -> dict[int, StockSnapshot]:
    """Stock snapshots for many variants in three queries, whatever their number (the ids go
    as one array parameter, `accounts.bulk.column_in`).

    `metafield_keys` are the "namespace.key" strings the rules need. `reserved` maps a variant
    id to the quantity sold on Amazon but not yet taken off in Shopify.
    """
    ids = list(set(variant_ids))
    if not ids:
        return {}
    variants = dict(
        Variant.objects.filter(column_in(Variant, "id", ids))
        .order_by()
        .values_list("pk", "tracked")
    )
    levels: dict[int, dict[int, int]] = defaultdict(dict)
    for variant_id, location_id, available in (
        InventoryLevel.objects.filter(
            column_in(InventoryLevel, "variant_id", ids), location__is_active=True
        )
        .order_by()
        .values_list("variant_id", "location_id", "available")
    ):
        levels[variant_id][location_id] = available
    metafields: dict[int, dict[str, str]] = defaultdict(dict)
    keys = {tuple(k.split(".", 1)) for k in metafield_keys if "." in k}
    if keys:
        for variant_id, namespace, key, value in MetafieldValue.objects.filter(
            column_in(MetafieldValue, "variant_id", ids),
            namespace__in={n for n, _ in keys},
            key__in={k for _, k in keys},
        ).values_list("variant_id", "namespace", "key", "value"):
            metafields[variant_id][f"{namespace}.{key}"] = value
    reserved = reserved or {}
    # Variants with the same stock share one snapshot, so a caller can compute a Result once
    # per distinct snapshot (most of a catalogue shares a handful of levels).
    shared: dict[tuple, StockSnapshot] = {}
    snapshots = {}
    nothing: dict = {}
    for pk in ids:
        found_levels = levels.get(pk, nothing)
        found_metafields = metafields.get(pk, nothing)
        tracked = variants.get(pk)  # None: no such variant
        key = (
            frozenset(found_levels.items()),
            tracked,
            frozenset(found_metafields.items()) if found_metafields else None,
            reserved.get(pk, 0),
        )
        snapshot = shared.get(key)
        if snapshot is None:
            snapshot = shared[key] = StockSnapshot(
                levels=dict(found_levels),
                tracked=bool(tracked),
                metafields=dict(found_metafields),
                exists=tracked is not None,
                reserved=key[3],
            )
        snapshots[pk] = snapshot
    return snapshots
