"""Writes on listings that merchants start from the admin."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from accounts.models import AmazonAccount

from .models import Listing


@dataclass
class UpdateQtySummary:
    """What "Update Qty" did, for the admin message."""

    queued: int = 0
    sync_off_accounts: list[str] = field(default_factory=list)  # inventory sync off: refused
    paused: int = 0
    fba: int = 0
    stock_missing: int = 0

    @property
    def refused(self) -> int:
        return self.paused + self.fba + self.stock_missing


@transaction.atomic
def update_qty(*, listing_ids: Iterable[int], acting_user) -> UpdateQtySummary:
    """Queue a push of each listing's current Result to Amazon (seed 000's "Update Qty").

    Sent even when Amazon was already told that number and when automatic updates are off.
    Refused for accounts whose inventory sync is off, for paused lists and listings (Sync off),
    FBA listings, and listings whose stock is missing under the policy "keep". The pushes are
    recorded with reason "manual" and the acting user.
    """
    from sync.services import recompute_listings

    ids = sorted(set(listing_ids))
    summary = UpdateQtySummary()
    if not ids:
        return summary
    off = AmazonAccount.objects.filter(
        listings__pk__in=ids, inventory_sync_enabled=False
    ).distinct()
    summary.sync_off_accounts = sorted(account.name for account in off)
    result = recompute_listings(
        listing_ids=ids, reason="manual", acting_user=acting_user, force=True
    )
    summary.queued = result.queued
    summary.fba = result.fba
    summary.stock_missing = result.stock_missing
    summary.paused = (
        result.sync_off
        - Listing.objects.filter(pk__in=ids, amazon_account__inventory_sync_enabled=False).count()
    )
    return summary


@dataclass
class RuleChangeSummary:
    queued: int = 0
    unchanged: int = 0


def apply_rule_change(*, listing_ids: Iterable[int], acting_user) -> RuleChangeSummary:
    """Send what a Global Profile or Selling List change did to these listings' Results.

    Flow 5 of the design: the merchant saw the before → after preview and confirmed. Only
    listings whose Result now differs from what Amazon was told are queued (reason
    "profile_change"); static modes are included, since the merchant asked for the change.
    """
    from sync.services import recompute_listings

    result = recompute_listings(
        listing_ids=sorted(set(listing_ids)), reason="profile_change", acting_user=acting_user
    )
    return RuleChangeSummary(queued=result.queued, unchanged=result.listings - result.queued)
