"""Bulk edits of listings from the admin: move to another Selling List, set an own rule, pause
or resume. Each writes in one transaction and recomputes what the change does on Amazon.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from selling_lists.models import Listing, SellingList

from ..models import PushReason
from .recompute import listings_recompute


@dataclass(frozen=True)
class BulkSummary:
    changed: int = 0
    unchanged: int = 0
    refused: int = 0  # e.g. another Amazon account or marketplace than the target list
    queued: int = 0


def listings_move(*, listing_ids: Iterable[int], selling_list: SellingList, acting_user):
    """Move listings to another Selling List of the same Amazon account and marketplace.

    Its profile then applies (unless a listing has its own rule); the Amazon listing stays the
    same, so nothing it was told is forgotten. Listings of other accounts or marketplaces stay.
    """
    ids = sorted(set(listing_ids))
    scope = Listing.objects.filter(pk__in=ids)
    fits = Q(amazon_account_id=selling_list.amazon_account_id) & Q(
        marketplace_id=selling_list.marketplace_id
    )
    refused = scope.exclude(fits).count()
    return _apply(
        scope.filter(fits).exclude(selling_list=selling_list),
        {"selling_list": selling_list},
        total=len(ids),
        refused=refused,
        reason=PushReason.LISTING_EDIT,
        acting_user=acting_user,
    )


def listings_set_rule(*, listing_ids: Iterable[int], mode: str, quantity: int | None, acting_user):
    """Give listings their own Item Qty mode (Codisto's single edit); mode "" removes it."""
    ids = sorted(set(listing_ids))
    quantity = quantity if mode else None
    scope = Listing.objects.filter(pk__in=ids).exclude(
        Q(override_mode=mode) & Q(override_quantity=quantity)
        if quantity is not None
        else Q(override_mode=mode) & Q(override_quantity__isnull=True)
    )
    return _apply(
        scope,
        {"override_mode": mode, "override_quantity": quantity},
        total=len(ids),
        reason=PushReason.LISTING_EDIT,
        acting_user=acting_user,
    )


def listings_set_paused(*, listing_ids: Iterable[int], paused: bool, acting_user):
    """Pause or resume listings; resuming sends whatever differs from what Amazon was told."""
    ids = sorted(set(listing_ids))
    return _apply(
        Listing.objects.filter(pk__in=ids).exclude(paused=paused),
        {"paused": paused},
        total=len(ids),
        reason=PushReason.LISTING_EDIT if paused else PushReason.SYNC_ON,
        acting_user=acting_user,
    )


def _apply(scope, values, *, total, reason, acting_user, refused=0) -> BulkSummary:
    with transaction.atomic():
        changed_ids = list(scope.select_for_update().values_list("pk", flat=True))
        if not changed_ids:
            return BulkSummary(unchanged=total - refused, refused=refused)
        Listing.objects.filter(pk__in=changed_ids).update(**values, updated_at=timezone.now())
        result = listings_recompute(listing_ids=changed_ids, reason=reason, acting_user=acting_user)
    return BulkSummary(
        changed=len(changed_ids),
        unchanged=total - refused - len(changed_ids),
        refused=refused,
        queued=result.queued,
    )
