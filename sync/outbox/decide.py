"""Whether and what to send for one listing: the switches and the outbox rules, without I/O.

`sync_block(listing)` is the one answer to "may anything be sent for this listing?" (FBA, the
account's sync switch, a paused Selling List or listing); `blocked_listings` says the same as a
query filter for the send path, and a test holds the two to the same answer. `decide(...)` is
what a recompute does with a listing whose Result it has just computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from profiles.rules import Result, Rule
from selling_lists.models import FulfillmentChannel, Listing, ListingStatus

from ..models import PushReason

# Reasons a merchant asked for explicitly: they are queued even when automatic updates are off
# and for static modes (single, fixed), which seed 000 updates only by hand.
EXPLICIT_REASONS = frozenset(
    {PushReason.MANUAL, PushReason.PROFILE_CHANGE, PushReason.LISTING_EDIT}
)
# Reasons that compare the Result with what Amazon was read to show, not with what it was last
# told: they come with a fresh read of Amazon (reconcile) or of the listing (linking, import).
COMPARED_WITH_AMAZON = frozenset({PushReason.RECONCILE, PushReason.LINK, PushReason.CATALOGUE})
# How a listing held by a saved, unconfirmed rule change starts its message; `decide` keeps it
# held through stock changes, orders and reconciles until an explicit reason sends it.
RULE_CHANGED = "The rule changed"


@dataclass(frozen=True)
class Block:
    """Why nothing may be sent for a listing, and the status it shows meanwhile."""

    status: str
    message: str


def sync_block(listing: Listing) -> Block | None:
    """Why nothing may be sent for this listing, or None when it may be (DESIGN.md, Switches).

    Needs the listing's account and Selling List loaded.
    """
    if listing.fulfillment_channel == FulfillmentChannel.FBA:
        return Block(ListingStatus.FBA, "")
    account = listing.amazon_account
    if not account.inventory_sync_enabled:
        return Block(
            ListingStatus.SYNC_OFF,
            f"Sync off: “Keep inventory in sync from Shopify to Amazon” is off for {account}.",
        )
    if listing.selling_list.paused:
        return Block(
            ListingStatus.PAUSED,
            f"Paused: the Selling List “{listing.selling_list}” is paused.",
        )
    if listing.paused:
        return Block(ListingStatus.PAUSED, "Paused: this listing is paused.")
    return None


def blocked_listings(prefix: str = "") -> Q:
    """`sync_block` as a filter: listings (reached through `prefix`, e.g. "listing__") that
    may not be sent."""
    return (
        Q(**{f"{prefix}fulfillment_channel": FulfillmentChannel.FBA})
        | Q(**{f"{prefix}amazon_account__inventory_sync_enabled": False})
        | Q(**{f"{prefix}selling_list__paused": True})
        | Q(**{f"{prefix}paused": True})
    )


@dataclass(frozen=True)
class Decision:
    """What to do with one listing after its Result was computed (see `decide`)."""

    status: str
    message: str = ""
    queue: bool = False
    supersede_pending: str = ""  # why the pending push is dropped ("" = keep it)
    outcome: str = "unchanged"  # the RecomputeSummary counter it adds to


def decide(
    listing: Listing,
    rule: Rule,
    result: Result,
    *,
    reason: str,
    force: bool,
    told: int | None,
    hold: bool = False,
    in_flight: bool,
    pending_quantity: int | None,
    previous_target: int | None,
) -> Decision:
    """The switches and the outbox rules for one listing, without the database.

    `told` is what Amazon shows as far as we know: the quantity of a push on the wire (less
    what Amazon sold since), else what Amazon was read to show, lowered by its own sales;
    `pending_quantity` is the target of its pending push, if any. The status is the state
    model's (docs/convergence.md): Linked only when `told` is the Result. `hold`: a profile or
    Selling List was saved and its change is not confirmed yet (Flow 5; "Not now" leaves it
    there): nothing is queued, and a listing whose Result moved is held, not "Linked"; it stays
    held through later recomputes until an explicit reason (confirm, Update Qty) sends it.
    """
    if in_flight or pending_quantity is not None:
        settled = (
            listing.status
            if listing.status in (ListingStatus.SENDING, ListingStatus.WAITING)
            else ListingStatus.PENDING
        )
    elif listing.status in (ListingStatus.FAILED, ListingStatus.NOT_ON_AMAZON):
        settled = listing.status
    else:
        settled = ListingStatus.LINKED
    block = sync_block(listing)
    if block is not None and block.status == ListingStatus.FBA:
        return Decision(
            ListingStatus.FBA, "", supersede_pending="FBA: Amazon manages it", outcome="fba"
        )
    if block is not None:
        return Decision(
            block.status, block.message, supersede_pending=block.message, outcome="sync_off"
        )
    target = result.quantity
    if target is None:
        # Policy "keep": leave Amazon as it is and flag the listing.
        message = f"{result.trace[0]}. Amazon's quantity is left as it is."
        status = ListingStatus.PENDING if in_flight else ListingStatus.STOCK_MISSING
        return Decision(status, message, supersede_pending="stock missing", outcome="stock_missing")
    explicit = force or reason in EXPLICIT_REASONS
    # Held since its rule was saved without confirming: only the merchant's own action sends.
    rule_held = listing.status == ListingStatus.HELD and listing.status_message.startswith(
        RULE_CHANGED
    )
    if hold or (rule_held and not explicit):
        if target == told or in_flight or pending_quantity is not None:
            return Decision(
                settled, "" if settled == ListingStatus.LINKED else listing.status_message
            )
        if hold and not rule_held and target == previous_target:
            # The save did not move this listing's Result: its state stays as it was.
            return Decision(listing.status, listing.status_message)
        shown = "unknown" if told is None else told
        message = (
            f"{RULE_CHANGED}: Amazon shows {shown}, the Result is {target}. Confirm the change "
            "(or “Update Qty”) to send it."
        )
        return Decision(ListingStatus.HELD, message, outcome="held")
    if not explicit and (rule.is_static or not listing.amazon_account.auto_update_qty):
        if target == told or in_flight or pending_quantity is not None:
            return Decision(settled, "", outcome="unchanged" if target == told else "held")
        why = (
            "Static mode: sent only by “Update Qty”"
            if rule.is_static
            else "Automatic updates are off"
        )
        shown = "unknown" if told is None else told
        message = f"{why}. Amazon shows {shown}, the Result is {target}: “Update Qty” sends it."
        return Decision(ListingStatus.HELD, message, outcome="held")
    if (
        not explicit
        and reason not in COMPARED_WITH_AMAZON  # those retry them against what Amazon shows
        and pending_quantity is None
        and listing.status in (ListingStatus.FAILED, ListingStatus.NOT_ON_AMAZON)
        and target == previous_target
    ):
        # Amazon refused this very target: do not resend it on every stock event.
        return Decision(listing.status, listing.status_message, outcome="not_retried")
    if target == told and not force:
        if pending_quantity is not None and pending_quantity != target:
            return Decision(
                ListingStatus.PENDING if in_flight else _after_drop(listing),
                "",
                supersede_pending=f"Amazon already has {target}",
            )
        return Decision(settled, "" if settled == ListingStatus.LINKED else listing.status_message)
    if pending_quantity == target and not force:
        # Already queued with this very number: keep that push (and its reason and trace).
        return Decision(ListingStatus.PENDING, "")
    return Decision(ListingStatus.PENDING, "", queue=True, outcome="queued")


def _after_drop(listing: Listing) -> str:
    if listing.status in (ListingStatus.FAILED, ListingStatus.NOT_ON_AMAZON):
        return listing.status
    return ListingStatus.LINKED
