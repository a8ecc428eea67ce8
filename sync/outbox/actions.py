"""What merchants ask of the outbox from the admin: Update Qty, rule changes, listing edits and
account switches. Each recomputes the listings concerned and queues what must be sent.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from accounts.models import AmazonAccount
from selling_lists.models import Listing, SellingList

from .. import queues
from ..models import PushReason
from ..outbound.circuit import circuit_reset
from .recompute import RecomputeSummary, listing_forget_amazon_side, listings_recompute

# Switches that change what may be sent for an account's listings (DESIGN.md, Switches).
LISTING_SWITCHES = frozenset({"auto_update_qty", "inventory_sync_enabled"})
# Fields that change what Amazon's LWA sees: saving them retries a refused seller at once.
CREDENTIAL_FIELDS = frozenset(
    {"lwa_client_id", "lwa_client_secret", "refresh_token", "endpoint", "token_url", "region"}
)
# Listing fields that point it at another Amazon listing, or change its Result.
RELINK_FIELDS = frozenset({"sku", "selling_list"})
RESULT_FIELDS = frozenset({"sku", "selling_list", "variant", "override_mode", "override_quantity"})


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
def listings_update_qty(*, listing_ids: Iterable[int], acting_user) -> UpdateQtySummary:
    """Queue a push of each listing's current Result to Amazon (seed 000's "Update Qty").

    Sent even when Amazon was already told that number and when automatic updates are off.
    Refused for accounts whose inventory sync is off, for paused lists and listings (Sync off),
    FBA listings, and listings whose stock is missing under the policy "keep". The pushes are
    recorded with reason "manual" and the acting user.
    """
    ids = sorted(set(listing_ids))
    summary = UpdateQtySummary()
    if not ids:
        return summary
    off = AmazonAccount.objects.filter(
        listings__pk__in=ids, inventory_sync_enabled=False
    ).distinct()
    summary.sync_off_accounts = sorted(account.name for account in off)
    result = listings_recompute(
        listing_ids=ids, reason=PushReason.MANUAL, acting_user=acting_user, force=True
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


def listings_apply_rule_change(*, listing_ids: Iterable[int], acting_user) -> RuleChangeSummary:
    """Send what a Global Profile or Selling List change did to these listings' Results.

    Flow 5 of the design: the merchant saw the before → after preview and confirmed. Only
    listings whose Result now differs from what Amazon was told are queued (reason
    "profile_change"); static modes are included, since the merchant asked for the change.
    """
    result = listings_recompute(
        listing_ids=sorted(set(listing_ids)),
        reason=PushReason.PROFILE_CHANGE,
        acting_user=acting_user,
    )
    return RuleChangeSummary(queued=result.queued, unchanged=result.listings - result.queued)


def listings_hold_rule_change(*, listing_ids: Iterable[int]) -> RecomputeSummary:
    """Recompute these listings after their rule was saved, sending nothing (`hold`).

    Until the merchant confirms the change (Flow 5), a listing whose Result moved reads
    "Out of sync — held: the rule changed …", not "Linked"; one whose Result did not move keeps
    its state. Confirming (`listings_apply_rule_change`) sends.
    """
    return listings_recompute(
        listing_ids=sorted(set(listing_ids)), reason=PushReason.PROFILE_CHANGE, hold=True
    )


def rule_change_hold_soon(*, profile_id: int | None = None, selling_list_id: int | None = None):
    """Once the save commits, have a worker recompute the listings a saved profile or Selling
    List governs with `listings_hold_rule_change` (a profile may govern 100,000 of them)."""
    if profile_id is not None:
        queues.enqueue_on_commit(queues.HOLD_RULE_CHANGE, "profile", profile_id)
    if selling_list_id is not None:
        queues.enqueue_on_commit(queues.HOLD_RULE_CHANGE, "selling_list", selling_list_id)


def listings_governed_by(scope: str, pk: int) -> list[int]:
    """The listings a profile (`scope` "profile") or a Selling List governs."""
    field = {"profile": "selling_list__profile_id", "selling_list": "selling_list_id"}[scope]
    return list(Listing.objects.filter(**{field: pk}).order_by("pk").values_list("pk", flat=True))


def listing_save(*, listing: Listing, changed_fields: Iterable[str], acting_user) -> None:
    """Save a listing edited in the admin and follow up on what changed.

    Pointed at another Amazon SKU or Selling List: what the old one was told says nothing about
    the new one, so its unconfirmed pushes are dropped. A new SKU, variant or own rule changes
    the Result: it is recomputed once the edit is committed (reason "listing edit").
    """
    changed = set(changed_fields)
    if listing.pk and RELINK_FIELDS & changed:
        listing_forget_amazon_side(listing=listing)
    listing.save()
    if RESULT_FIELDS & changed:
        transaction.on_commit(
            lambda: listings_recompute(
                listing_ids=[listing.pk], reason=PushReason.LISTING_EDIT, acting_user=acting_user
            )
        )


def account_switches_changed(*, account: AmazonAccount, changed_fields: Iterable[str]) -> bool:
    """After an account was saved: if a switch that governs sending changed, recompute its
    listings in a worker (statuses follow at once; switching on sends what differs). If its
    credentials changed (or sync was switched on), the seller's circuit is reset: what waits
    for Amazon, or was stopped by refused credentials, is sent at once.

    Returns whether a recompute or a retry was queued.
    """
    changed = set(changed_fields)
    resumed = "inventory_sync_enabled" in changed and account.inventory_sync_enabled
    if CREDENTIAL_FIELDS & changed or resumed:
        transaction.on_commit(lambda: circuit_reset(account))
    if not LISTING_SWITCHES & changed:
        return bool(CREDENTIAL_FIELDS & changed)
    queues.enqueue_on_commit(queues.ACCOUNT_SWITCHES_CHANGED, account.pk)
    return True


@dataclass
class PauseSummary:
    listings: int = 0
    queued: int = 0  # resuming: pushes queued for what differs

    def __str__(self):
        return f"{self.listings} listing(s), {self.queued} new quantity(ies) on their way to Amazon"


def selling_list_set_paused(
    *, selling_list: SellingList, paused: bool, acting_user
) -> PauseSummary:
    """Pause or resume a Selling List; its listings' states follow at once.

    Pausing drops their unsent pushes and shows "Paused"; resuming recomputes them (reason
    "sync switched on") and queues a push wherever Amazon does not show the Result.
    """
    ids = list(selling_list.listings.values_list("pk", flat=True))
    summary = PauseSummary(listings=len(ids))
    if selling_list.paused != paused:
        selling_list.paused = paused
        selling_list.save(update_fields=["paused", "updated_at"])
    result = listings_recompute(listing_ids=ids, reason=PushReason.SYNC_ON, acting_user=acting_user)
    summary.queued = result.queued
    return summary
