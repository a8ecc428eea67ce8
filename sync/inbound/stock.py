"""Shopify stock into the mirror, then into the outbox (DESIGN.md flow 3).

    inventory_levels_apply(store=..., levels=[LevelUpdate(...)])

Webhooks, the catalogue import and the reconcile all land their stock here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import InventoryLevel, Location, ShopifyStore, Variant

from ..models import PushReason
from ..outbox.recompute import RecomputeSummary, listings_recompute


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


def inventory_levels_apply(
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
            summary.recompute = listings_recompute(
                variant_ids=summary.variant_ids, reason=reason, acting_user=acting_user
            )
    return summary
